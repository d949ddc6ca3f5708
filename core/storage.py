"""Media storage: private originals named by SHA-256, public renditions beside them.

Originals keep their metadata and are for moderators only. Renditions are re-encoded without
any metadata and are the only images that may leave the machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 16


@dataclass(frozen=True)
class StoredFile:
    """Where an original landed."""

    sha256: str
    path: Path  # absolute
    relative: str  # relative to the data directory (what the database keeps)
    size_bytes: int


class MediaStore:
    """Files under the data directory: `private/originals/` and `public/renditions/`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.originals = self.data_dir / "private" / "originals"
        self.renditions = self.data_dir / "public" / "renditions"

    def put_original(self, source: BinaryIO | bytes, *, suffix: str = "") -> StoredFile:
        """Store an original atomically, named by its SHA-256; the same bytes are stored once."""
        self.originals.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.originals, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                if isinstance(source, bytes):
                    digest.update(source)
                    tmp.write(source)
                    size = len(source)
                else:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        tmp.write(chunk)
                        size += len(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            sha = digest.hexdigest()
            target = self.original_path(sha, suffix)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredFile(sha, target, self.relative(target), size)

    def original_path(self, sha256: str, suffix: str = "") -> Path:
        """Where the original with this digest lives."""
        return self.originals / sha256[:2] / f"{sha256}{suffix}"

    def rendition_dir(self, sha256: str) -> Path:
        """The folder holding the renditions of one original."""
        return self.renditions / sha256[:2] / sha256

    def relative(self, path: Path) -> str:
        """`path` relative to the data directory, as stored in the database."""
        return str(path.resolve().relative_to(self.data_dir))

    def absolute(self, relative: str) -> Path:
        """The absolute path of a stored relative path."""
        return self.data_dir / relative

    def delete_original(self, relative: str) -> bool:
        """Delete one original; True when a file was removed."""
        path = self.absolute(relative)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def delete_renditions(self, sha256: str) -> bool:
        """Delete every rendition of one original; True when something was removed."""
        folder = self.rendition_dir(sha256)
        existed = folder.exists()
        shutil.rmtree(folder, ignore_errors=True)
        return existed
