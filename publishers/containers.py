"""Meta's container pattern, shared by Instagram and Threads: create a container per photo (and a
carousel parent for 2 or more), wait until it is FINISHED, then publish it.

Neither platform has idempotency, but a container is a checkpoint (PLATFORMS.md): its id is
saved in the delivery's row before anything is published, so the next attempt, in any worker,
asks the container's status instead of starting again:

- FINISHED: not published yet, publish it;
- PUBLISHED: it went out (the answer was lost): find the post among the account's latest by its
  text; when it is not found, the delivery becomes `unknown` for a person;
- ERROR or EXPIRED (24 hours): make new containers;
- IN_PROGRESS: wait, a bounded number of times.

A publish call that times out is followed at once by the same status question.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import SecretStr

from core import media_urls
from core.config import Settings
from core.errors import ConfigError, NotAllowed
from publishers.base import (
    Checkpoint,
    ComposeError,
    MemoryCheckpoint,
    PermanentError,
    Post,
    Receipt,
    RetryableError,
    UncertainError,
)
from publishers.graph import GraphClient

logger = logging.getLogger(__name__)

FINISHED, PUBLISHED, IN_PROGRESS = "FINISHED", "PUBLISHED", "IN_PROGRESS"
#: Containers that will never publish: make new ones.
DEAD = frozenset({"ERROR", "EXPIRED"})
#: Posts of the account read when looking for one whose publish answer was lost.
LOOKUP_LIMIT = 25


@dataclass(frozen=True)
class ContainerApi:
    """How one platform names the parts of the container pattern."""

    platform: str  # "Instagram", "Threads"
    create_edge: str  # POST /{user}/<edge>: "media", "threads"
    publish_edge: str  # "media_publish", "threads_publish"
    status_field: str  # Instagram "status_code", Threads "status"
    text_field: str  # "caption", "text"
    list_edge: str  # the account's published posts: "media", "threads"
    max_items: int  # a carousel's children: 10 (Instagram), 20 (Threads)
    image_type: str | None  # `media_type` of a photo container: Threads "IMAGE", Instagram none
    text_type: str | None  # `media_type` of a text-only post (Threads "TEXT"); None: not allowed
    quota_edge: str  # GET /{user}/<edge>: "content_publishing_limit", "threads_publishing_limit"


@dataclass(frozen=True)
class Quota:
    """Posts published through the API in the moving window, of how many allowed."""

    usage: int
    total: int
    window_seconds: int

    @property
    def left(self) -> int:
        """Posts that may still go out in this window."""
        return max(0, self.total - self.usage)


def image_params(api: ContainerApi, url: str, alt: str, *, child: bool) -> dict[str, str]:
    """The form fields of one photo's container."""
    params = {"image_url": url, "alt_text": alt}
    if api.image_type:
        params["media_type"] = api.image_type
    if child:
        params["is_carousel_item"] = "true"
    return params


class ContainerPublisher:
    """Publishes one post of one account through containers, saving each step in a checkpoint."""

    def __init__(
        self,
        client: GraphClient,
        api: ContainerApi,
        user_id: str,
        checkpoint: Checkpoint,
        *,
        poll_interval: float = 2.0,
        poll_attempts: int = 15,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.api = api
        self.user_id = user_id
        self.checkpoint = checkpoint
        self.poll_interval = poll_interval
        self.poll_attempts = poll_attempts
        self._sleep = sleep

    # ------------------------------------------------------------------ steps

    def status(self, container_id: str) -> tuple[str, str | None]:
        """A container's status and, when it failed, what Meta says about it."""
        field = self.api.status_field
        answer = self.client.call(
            "GET",
            container_id,
            "container status",
            params={"fields": f"id,{field},status,error_message"},
        )
        status = str(answer.get(field) or answer.get("status") or "")
        detail = answer.get("error_message") or (
            answer.get("status") if field != "status" else None
        )
        return status, str(detail) if detail else None

    def _create(self, params: dict[str, str], what: str) -> str:
        answer = self.client.call(
            "POST", f"{self.user_id}/{self.api.create_edge}", what, data=params
        )
        return str(answer["id"])

    def quota(self) -> Quota:
        """The account's publishing quota, as Meta counts it now."""
        answer = self.client.call(
            "GET",
            f"{self.user_id}/{self.api.quota_edge}",
            "publishing limit",
            params={"fields": "quota_usage,config"},
        )
        rows = answer.get("data") if isinstance(answer, dict) else None
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        found = row.get("config")
        config: dict[str, Any] = found if isinstance(found, dict) else {}
        try:
            return Quota(
                usage=int(row.get("quota_usage") or 0),
                total=int(config["quota_total"]),
                window_seconds=int(config.get("quota_duration") or 86400),
            )
        except (KeyError, TypeError, ValueError):
            raise PermanentError(f"{self.api.platform} did not say its publishing limit") from None

    def _keep_under_quota(self) -> None:
        quota = self.quota()
        if quota.left <= 0:
            raise RetryableError(
                f"{self.api.platform} publishing limit reached ({quota.usage} of {quota.total} "
                f"posts in {quota.window_seconds // 3600} hours): waiting for the window to move",
                retry_after=3600.0,
            )

    def _wait_finished(self, container_id: str) -> str:
        """Poll until FINISHED (or PUBLISHED); raise when it failed, or (retryable) when it takes
        too long. The status reached."""
        for attempt in range(self.poll_attempts):
            status, detail = self.status(container_id)
            if status in (FINISHED, PUBLISHED):
                return status
            if status in DEAD:
                self.checkpoint.save({})
                reason = detail or "no reason given"
                raise PermanentError(
                    f"{self.api.platform} could not prepare the post ({status}: {reason})"
                )
            if attempt + 1 < self.poll_attempts:
                self._sleep(self.poll_interval)
        raise RetryableError(
            f"{self.api.platform} container {container_id} still {IN_PROGRESS} after "
            f"{self.poll_attempts} checks",
            retry_after=60.0,
        )

    def find_published(self, text: str) -> dict[str, Any] | None:
        """The account's latest post with exactly this text, if any."""
        field = self.api.text_field
        answer = self.client.call(
            "GET",
            f"{self.user_id}/{self.api.list_edge}",
            "latest posts",
            params={"fields": f"id,{field},permalink,timestamp", "limit": str(LOOKUP_LIMIT)},
        )
        for item in answer.get("data") or []:
            if isinstance(item, dict) and (item.get(field) or "") == text:
                return item
        return None

    def permalink(self, media_id: str) -> str | None:
        """The published post's web address (None when Meta does not say)."""
        try:
            answer = self.client.call("GET", media_id, "permalink", params={"fields": "permalink"})
        except RetryableError:
            return None
        link = answer.get("permalink") if isinstance(answer, dict) else None
        return str(link) if link else None

    # ------------------------------------------------------------------ the whole publish

    def publish(self, post: Post, image_urls: Sequence[str]) -> Receipt:
        """Publish `post` with photos at `image_urls`, resuming from the checkpoint."""
        state = self.checkpoint.load()
        container = state.get("container")
        if container:
            status, _ = self.status(str(container))
            if status == PUBLISHED:
                # Out already, with the text it was made with (the caption may have changed).
                return self._published(post, state)
            if status in DEAD:
                logger.info(
                    "%s container %s is %s: new containers", self.api.platform, container, status
                )
                state = {}
        if state.get("text") != post.text:
            state = {}  # a new caption: containers of another text are not this post
        if not state.get("container"):
            state = self._make_containers(post, image_urls)
        container = str(state["container"])
        if self._wait_finished(container) == PUBLISHED:
            return self._published(post, state)
        self._keep_under_quota()
        return self._publish_container(post, state, container)

    def _make_containers(self, post: Post, image_urls: Sequence[str]) -> dict[str, Any]:
        api = self.api
        urls = list(image_urls)[: api.max_items]
        alts = [image.alt for image in post.images]
        state: dict[str, Any] = {"text": post.text, "children": []}
        if not urls:
            if api.text_type is None:
                raise ComposeError(f"{api.platform} posts need a photo")
            params = {"media_type": api.text_type, api.text_field: post.text}
        elif len(urls) == 1:
            params = image_params(api, urls[0], alts[0], child=False) | {api.text_field: post.text}
        else:
            for url, alt in zip(urls, alts, strict=False):
                child = self._create(image_params(api, url, alt, child=True), "carousel item")
                state["children"].append(child)
                self.checkpoint.save(state)
            params = {
                "media_type": "CAROUSEL",
                "children": ",".join(state["children"]),
                api.text_field: post.text,
            }
        state["container"] = self._create(params, "container")
        self.checkpoint.save(state)
        return state

    def _publish_container(self, post: Post, state: dict[str, Any], container: str) -> Receipt:
        try:
            answer = self.client.call(
                "POST",
                f"{self.user_id}/{self.api.publish_edge}",
                "publish",
                data={"creation_id": container},
            )
        except RetryableError as exc:
            if not exc.maybe_sent:
                raise
            # The answer was lost: ask the container before anyone publishes it again. When
            # that fails too, the next attempt asks (the container is in the checkpoint).
            try:
                if self.status(container)[0] == PUBLISHED:
                    return self._published(post, state)
            except RetryableError:
                pass
            raise exc from None
        media_id = str(answer["id"])
        self.checkpoint.save(state | {"published": media_id})
        return self._receipt(media_id, state, self.permalink(media_id))

    def _published(self, post: Post, state: dict[str, Any]) -> Receipt:
        """The container is PUBLISHED but we never heard the post's id: find it by its text."""
        if state.get("published"):
            media_id = str(state["published"])
            return self._receipt(media_id, state, self.permalink(media_id))
        found = self.find_published(str(state.get("text", post.text)))
        if found is None:
            raise UncertainError(
                f"{self.api.platform} says container {state.get('container')} is published, but "
                "no post with its text is among the account's latest: check the account"
            )
        media_id = str(found["id"])
        self.checkpoint.save(state | {"published": media_id})
        link = found.get("permalink")
        return self._receipt(media_id, state, str(link) if link else self.permalink(media_id))

    @staticmethod
    def _receipt(media_id: str, state: dict[str, Any], url: str | None) -> Receipt:
        return Receipt(
            remote_id=media_id,
            url=url,
            extra={"container": state.get("container"), "children": state.get("children", [])},
        )


def public_image_urls(settings: Settings, post: Post) -> list[str]:
    """The signed public URLs (`GET /m/<token>` on PESISIR_PUBLIC_BASE_URL) of a post's photos,
    which Meta fetches itself."""
    data_dir = settings.data_dir.resolve()
    urls = []
    for image in post.images:
        try:
            relative = image.path.resolve().relative_to(data_dir)
        except ValueError:
            raise PermanentError(
                f"photo {image.path.name} is not in the data folder: it has no public URL"
            ) from None
        try:
            urls.append(media_urls.media_url(settings, str(relative)))
        except NotAllowed as exc:
            raise PermanentError(str(exc)) from None
    return urls


def require_public_media(settings: Settings, platform: str) -> None:
    """ConfigError unless photos can be given public URLs (an address and a signing key)."""
    if not settings.public_base_url or settings.secret_key is None:
        raise ConfigError(
            f"{platform} fetches photos by URL: set PESISIR_PUBLIC_BASE_URL (the https:// address "
            "this installation is reached at) and PESISIR_SECRET_KEY"
        )


class ContainerChannel:
    """What the Instagram and Threads publisher classes share: their account, the checkpoint,
    publishing through containers, and the public-address part of `check()`."""

    api: ClassVar[ContainerApi]

    def __init__(
        self,
        *,
        graph_url: str,
        user_id: str,
        token: SecretStr,
        settings: Settings,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.user_id = user_id
        self.settings = settings
        self.client = GraphClient(graph_url, token, platform=self.api.platform)
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._checkpoint: Checkpoint = MemoryCheckpoint()

    def use_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Containers are saved in (and resumed from) `checkpoint`."""
        self._checkpoint = checkpoint

    def containers(self) -> ContainerPublisher:
        """The container steps for this account and the current checkpoint."""
        return ContainerPublisher(
            self.client,
            self.api,
            self.user_id,
            self._checkpoint,
            poll_interval=self.poll_interval,
            sleep=self._sleep,
        )

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        """Containers (resumed from the checkpoint), then the publish call."""
        del idempotency_key  # the checkpoint, kept per delivery, is what makes a resend safe
        receipt = self.containers().publish(post, public_image_urls(self.settings, post))
        logger.info(
            "%s post %s published with %d photos",
            self.api.platform,
            receipt.remote_id,
            len(post.images),
        )
        return receipt

    def quota_and_address(self) -> str:
        """The publishing quota in words; PermanentError when our public address is not one
        the platform can fetch photos from."""
        quota = self.containers().quota()
        problem = media_urls.public_address_problem(self.settings.public_base_url)
        if problem:
            raise PermanentError(f"{problem}: {self.api.platform} cannot fetch the photos from it")
        return (
            f"{quota.usage} of {quota.total} posts used in the last "
            f"{quota.window_seconds // 3600} hours"
        )
