"""Deliveries: one post of one story on one channel, and every change of its state.

This package is the only writer of the deliveries table: import-linter keeps its module
(`core.delivery_table`) to this package and the read-only `publishers.calendar`, and
`tests/test_architecture.py` checks that no other module updates it. Every state change goes
through `transitions.change`, a guarded `UPDATE … WHERE state IN (…)` that follows
`core.states.DELIVERY_TRANSITIONS`: a move the table does not allow changes nothing.

- `planning`: a new post; a cancelled one revived as a new post (new key, every field reset);
  cancelling, deleted posts, a person's decision, a post's own caption, publishing the story
  when all are out.
- `sending`: claims with leases, the outcome of each send, expired leases, late posts.
"""

from publishers.deliveries.planning import (
    LIVE_STATES,
    PlannedPost,
    cancel_pending,
    live_posts,
    mark_deleted,
    move,
    plan,
    post,
    publish_finished_stories,
    publish_story_if_done,
    resolve,
    set_caption,
)
from publishers.deliveries.sending import (
    BATCH,
    LEASE_SECONDS,
    MAX_ATTEMPTS,
    WINDOW_PASSED,
    Claim,
    DeliveryCheckpoint,
    backoff_seconds,
    cancel_claimed,
    claim_due,
    expire_leases,
    load_claim,
    mark_late,
    record_auth,
    record_failed,
    record_retry,
    record_sent,
    record_unknown,
    release,
    renew_lease,
    resend_is_safe,
    short_error,
)

__all__ = [
    "BATCH",
    "LEASE_SECONDS",
    "LIVE_STATES",
    "MAX_ATTEMPTS",
    "WINDOW_PASSED",
    "Claim",
    "DeliveryCheckpoint",
    "PlannedPost",
    "backoff_seconds",
    "cancel_claimed",
    "cancel_pending",
    "claim_due",
    "expire_leases",
    "live_posts",
    "load_claim",
    "mark_deleted",
    "mark_late",
    "move",
    "plan",
    "post",
    "publish_finished_stories",
    "publish_story_if_done",
    "record_auth",
    "record_failed",
    "record_retry",
    "record_sent",
    "record_unknown",
    "release",
    "renew_lease",
    "resend_is_safe",
    "resolve",
    "set_caption",
    "short_error",
]
