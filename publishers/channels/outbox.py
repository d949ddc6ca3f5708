"""The outbox channel: each post becomes a folder with post.json and copies of its images.

`<outbox_dir>/<YYYY-MM-DD>/<idempotency key>/post.json`. The default channel and the demo's:
a campaign team can look at exactly what would go out, and other tools can pick posts up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from core.clock import utcnow
from core.config import Settings
from publishers.base import ALWAYS, PermanentError, Post, Publisher, Receipt, SetupHints
from publishers.text import ChannelRules, no_limit

logger = logging.getLogger(__name__)

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


#: A staging folder this old belongs to a write that was killed (a write takes milliseconds).
STALE_STAGING_SECONDS = 600.0


def folder_name(idempotency_key: str) -> str:
    """The key itself when it is a safe folder name, else its SHA-256 (never a path trick)."""
    if _SAFE_KEY.match(idempotency_key) and ".." not in idempotency_key:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


class OutboxPublisher(Publisher):
    """Writes posts into a folder; idempotent by key; delete removes the folder."""

    kind: ClassVar[str] = "outbox"
    # No platform limits: the outbox keeps the whole composed post (PLATFORMS.md has no entry).
    rules: ClassVar[ChannelRules] = ChannelRules(no_limit, no_limit, None, ("web", "feed"), None)
    # A post is a folder named by its key: writing the same key again returns the same post.
    resend_safe_seconds: ClassVar[float] = ALWAYS
    rate_per_minute: ClassVar[int | None] = None
    setup_hints: ClassVar[SetupHints] = SetupHints(
        config="set PESISIR_OUTBOX_DIR, or the channel's `directory` config, to a folder",
        auth="let the user running pesisir write to the outbox folder (chown/chmod)",
        unreachable="let the user running pesisir write to the outbox folder (chown/chmod)",
        refused="let the user running pesisir write to the outbox folder, or choose another "
        "with PESISIR_OUTBOX_DIR",
    )

    def __init__(self, directory: Path, *, now: Callable[[], datetime] = utcnow) -> None:
        self.directory = Path(directory)
        self._now = now

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> OutboxPublisher:
        """Folder from the channel's `directory` config, else `PESISIR_OUTBOX_DIR`."""
        directory = config.get("directory")
        return cls(Path(directory) if directory else settings.effective_outbox_dir)

    def check(self) -> str:
        """Make the folder if needed and write and remove a probe file in it."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".check-"):
                pass
        except OSError as exc:
            raise PermanentError(
                f"cannot write to {self.directory}: {exc.strerror or type(exc).__name__}"
            ) from None
        return f"writes posts to {self.directory}"

    def _existing(self, key: str) -> Path | None:
        if not self.directory.exists():
            return None
        for candidate in sorted(self.directory.glob(f"*/{key}/post.json")):
            return candidate.parent
        return None

    def _receipt(self, folder: Path) -> Receipt:
        return Receipt(
            remote_id=f"{folder.parent.name}/{folder.name}",
            url=folder.resolve().as_uri(),
            extra={"folder": str(folder)},
        )

    def clean_up(
        self, idempotency_key: str, *, ref: str = "", older_than_seconds: float = 0.0
    ) -> int:
        """Remove staging folders a killed write of this key left (they hold the story's text
        and photos); how many."""
        if not self.directory.exists():
            return 0
        key = folder_name(idempotency_key)
        cutoff = time.time() - older_than_seconds
        leftovers = [
            path
            for path in self.directory.glob(f"*/.{key}-*")
            if path.is_dir() and path.stat().st_mtime <= cutoff
        ]
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)
        return len(leftovers)

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Write `post` once per key; a rerun with the same key returns the same receipt."""
        key = folder_name(idempotency_key)
        # A write of this key killed earlier left a staging folder: remove it. Only old ones:
        # a worker whose lease ran out may still be writing its own.
        self.clean_up(idempotency_key, older_than_seconds=STALE_STAGING_SECONDS)
        existing = self._existing(key)
        if existing is not None:
            logger.info("outbox post %s already written", key)
            return self._receipt(existing)
        created = self._now()
        folder = self.directory / created.date().isoformat() / key
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Build in a temporary sibling and rename: a crash never leaves a half-written post.
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
        try:
            images = []
            for number, image in enumerate(post.images, start=1):
                file_name = f"{number:02d}-{image.rendition}{image.path.suffix or '.jpg'}"
                try:
                    shutil.copyfile(image.path, staging / file_name)
                except OSError as exc:
                    raise PermanentError(f"cannot copy image {number}: {exc.strerror}") from exc
                images.append(
                    {
                        "file": file_name,
                        "alt": image.alt,
                        "width": image.width,
                        "height": image.height,
                        "mime_type": image.mime_type,
                    }
                )
            document = {
                "idempotency_key": idempotency_key,
                "created_at": created.isoformat(),
                "ref": post.extra.get("ref"),
                "lang": post.lang,
                "title": post.title,
                "text": post.text,
                "hashtags": list(post.hashtags),
                "link": post.link,
                "images": images,
                "alt_texts": [image["alt"] for image in images],
            }
            (staging / "post.json").write_text(
                json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
            try:
                staging.rename(folder)
            except OSError:
                if not (folder / "post.json").exists():
                    raise
                # Another worker wrote the same key first: theirs stands.
                shutil.rmtree(staging, ignore_errors=True)
                return self._receipt(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        logger.info("outbox post %s written with %d images", key, len(images))
        return self._receipt(folder)

    def delete(self, receipt: Receipt) -> bool:
        """Remove the post's folder; False when it is already gone."""
        folder = self.directory / receipt.remote_id
        if self.directory.resolve() not in folder.resolve().parents or not folder.is_dir():
            return False
        shutil.rmtree(folder)
        return True
