"""Who may use the web dashboard: people, their roles, one-time login links, session epochs.

Below both faces: the bot's `/masuk` and `pesisir web link` issue links here, the web consumes
them here. A link's token is shown once and only its SHA-256 is kept; it works once, for
`LINK_MINUTES`, and only by a POST (a chat app's link preview fetches with GET and cannot use
it up). A session is valid while the person's `session_epoch` is the one it was made with:
"log out everywhere", a new role or disabling a person bumps the epoch. Every change is audited
with the acting person, in the audit format of the bot (`moderator:<name>`) and the CLI
(`cli:<user>`); the web's actors are `web:<name>`. Callers commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from core import audit
from core.clock import as_utc, utcnow
from core.config import Settings
from core.errors import InvalidInput, NotAllowed, NotFound
from core.models import LoginToken, Person

#: How long a login link works.
LINK_MINUTES = 10
MAX_NAME_CHARS = 64


class Role(StrEnum):
    """What a person does on the dashboard."""

    MODERATOR = "moderator"  # decides on stories
    CAMPAIGN = "campaign"  # calendar, posts, channels
    ADMIN = "admin"  # everything, and people and roles
    VIEWER = "viewer"  # reads; never an original photo, never an exact point


class Permission(StrEnum):
    """What a page or action needs."""

    DECIDE = "decide"  # moderators' decisions on a story
    PLAN = "plan"  # schedule, move, cancel, retry posts; pause channels; autofill
    PEOPLE = "people"  # add people, change roles, issue links
    PRIVATE = "private"  # original photos, recordings, exact points
    REPORTS = "reports"  # download policy briefs and open exports


P = Permission
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.MODERATOR: frozenset({P.DECIDE, P.PRIVATE}),
    Role.CAMPAIGN: frozenset({P.PLAN, P.REPORTS}),
    Role.ADMIN: frozenset(Permission),
    Role.VIEWER: frozenset(),
}


@dataclass(frozen=True)
class PersonView:
    """A dashboard user as pages see them (never their Telegram id)."""

    id: int
    name: str
    role: Role
    epoch: int
    linked_to_telegram: bool
    disabled: bool
    created_at: datetime

    @property
    def actor(self) -> str:
        """How this person appears in the audit log."""
        return web_actor(self.name)

    def may(self, permission: Permission) -> bool:
        """True when the person's role grants `permission`."""
        return not self.disabled and permission in GRANTS[self.role]


class LoginRefused(NotAllowed):
    """A login link that does not work: `reason` is `used`, `expired` or `unknown`."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"this login link is {reason}")
        self.reason = reason


def web_actor(name: str) -> str:
    """`web:<name>`, the audit actor of a dashboard user."""
    return f"web:{name}"


def parse_role(value: str) -> Role:
    """A role from its name; InvalidInput naming the roles otherwise."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise InvalidInput(f"unknown role {value!r}; use one of {known}") from None


def _view(person: Person) -> PersonView:
    assert person.id is not None
    return PersonView(
        id=person.id,
        name=person.name,
        role=Role(person.role),
        epoch=person.session_epoch,
        linked_to_telegram=person.telegram_user_id is not None,
        disabled=person.disabled_at is not None,
        created_at=person.created_at,
    )


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("the name is empty")
    if len(cleaned) > MAX_NAME_CHARS:
        raise InvalidInput(f"a name has at most {MAX_NAME_CHARS} characters")
    return cleaned


def _get(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person #{person_id}")
    return person


def get_person(session: Session, person_id: int) -> PersonView:
    """One person, or NotFound."""
    return _view(_get(session, person_id))


def list_people(session: Session) -> list[PersonView]:
    """Everyone, by name."""
    rows = session.exec(select(Person).order_by(func.lower(col(Person.name)), col(Person.id)))
    return [_view(person) for person in rows]


def add_person(
    session: Session,
    *,
    name: str,
    role: Role | str,
    actor: str,
    telegram_user_id: int | None = None,
) -> PersonView:
    """A new dashboard user (audited)."""
    person = Person(
        name=_clean_name(name), role=parse_role(role), telegram_user_id=telegram_user_id
    )
    session.add(person)
    session.flush()
    audit.record(session, actor=actor, action="person_added", after=_summary(person))
    return _view(person)


def _summary(person: Person) -> dict[str, object]:
    return {"person": person.id, "name": person.name, "role": person.role}


def person_named(session: Session, name: str, role: Role | str, *, actor: str) -> PersonView:
    """The person called `name` (any case) with `role`: made, or their role set (audited);
    for `pesisir web link`, whoever runs it is trusted as an admin."""
    wanted = parse_role(role)
    cleaned = _clean_name(name)
    found = session.exec(
        select(Person)
        .where(func.lower(col(Person.name)) == cleaned.lower())
        .order_by(col(Person.id))
    ).first()
    if found is None:
        return add_person(session, name=cleaned, role=wanted, actor=actor)
    assert found.id is not None
    if found.disabled_at is not None:
        found.disabled_at = None
        session.add(found)
        audit.record(session, actor=actor, action="person_enabled", after=_summary(found))
    if found.role != wanted:
        set_role(session, found.id, wanted, actor=actor)
    return get_person(session, found.id)


def person_for_telegram(session: Session, telegram_user_id: int, name: str) -> PersonView:
    """The dashboard user behind a Telegram moderator: theirs, or a new `moderator` named after
    their Telegram name. The caller has checked they may moderate. A disabled one is refused."""
    found = session.exec(select(Person).where(Person.telegram_user_id == telegram_user_id)).first()
    if found is None:
        return add_person(
            session,
            name=name or "Moderator",
            role=Role.MODERATOR,
            actor="telegram:/masuk",
            telegram_user_id=telegram_user_id,
        )
    if found.disabled_at is not None:
        raise NotAllowed("this person may not use the dashboard (an admin disabled them)")
    return _view(found)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(
    session: Session, person_id: int, *, issued_by: str, now: datetime | None = None
) -> str:
    """A new one-time login token for this person (shown once; only its hash is stored)."""
    person = _get(session, person_id)
    if person.disabled_at is not None:
        raise NotAllowed(f"{person.name} is disabled; enable them first")
    token = secrets.token_urlsafe(32)
    moment = as_utc(now or utcnow())
    session.add(
        LoginToken(
            token_hash=_hash(token),
            person_id=person_id,
            issued_by=issued_by,
            created_at=moment,
            expires_at=moment + timedelta(minutes=LINK_MINUTES),
        )
    )
    audit.record(session, actor=issued_by, action="login_link_issued", after=_summary(person))
    session.flush()
    return token


def login_url(settings: Settings, token: str) -> str:
    """The address of a login link: PESISIR_PUBLIC_BASE_URL, else the dashboard's own."""
    base = settings.public_base_url or f"http://{settings.web_host}:{settings.web_port or 8000}"
    return f"{base.rstrip('/')}/login/{token}"


def check_link(session: Session, token: str, *, now: datetime | None = None) -> PersonView:
    """Whose link this is, without using it up; LoginRefused when it does not work."""
    row = session.exec(select(LoginToken).where(LoginToken.token_hash == _hash(token))).first()
    if row is None:
        raise LoginRefused("unknown")
    if row.used_at is not None:
        raise LoginRefused("used")
    if as_utc(row.expires_at) <= as_utc(now or utcnow()):
        raise LoginRefused("expired")
    person = _get(session, row.person_id)
    if person.disabled_at is not None:
        raise LoginRefused("unknown")
    return _view(person)


def consume_link(session: Session, token: str, *, now: datetime | None = None) -> PersonView:
    """Use a login link (once: a guarded UPDATE, so two tabs cannot both log in); audited."""
    moment = as_utc(now or utcnow())
    person = check_link(session, token, now=moment)
    used = session.execute(
        update(LoginToken)
        .where(
            col(LoginToken.token_hash) == _hash(token),
            col(LoginToken.used_at).is_(None),
            col(LoginToken.expires_at) > moment,
        )
        .values(used_at=moment)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise LoginRefused("used")
    audit.record(session, actor=person.actor, action="web_login", after={"person": person.id})
    return person


def current_person(session: Session, person_id: int, epoch: int) -> PersonView | None:
    """The person a session names, while that session is still valid (same epoch, enabled)."""
    person = session.get(Person, person_id)
    if person is None or person.disabled_at is not None or person.session_epoch != epoch:
        return None
    return _view(person)


def _bump_epoch(session: Session, person: Person) -> None:
    person.session_epoch += 1
    session.add(person)


def log_out_everywhere(session: Session, person_id: int, *, actor: str) -> PersonView:
    """End every session of this person (audited)."""
    person = _get(session, person_id)
    _bump_epoch(session, person)
    audit.record(session, actor=actor, action="web_logout_everywhere", after=_summary(person))
    session.flush()
    return _view(person)


def _admins_left(session: Session, without: int) -> int:
    return int(
        session.exec(
            select(func.count()).where(
                Person.role == Role.ADMIN.value,
                col(Person.disabled_at).is_(None),
                Person.id != without,
            )
        ).one()
    )


def set_role(session: Session, person_id: int, role: Role | str, *, actor: str) -> PersonView:
    """Give a person another role; their sessions end (audited). The last admin stays admin."""
    wanted = parse_role(role)
    person = _get(session, person_id)
    if person.role == wanted.value:
        return _view(person)
    if person.role == Role.ADMIN.value and not _admins_left(session, person_id):
        raise NotAllowed("the last admin cannot lose the admin role")
    before = _summary(person)
    person.role = wanted.value
    _bump_epoch(session, person)
    audit.record(session, actor=actor, action="person_role", before=before, after=_summary(person))
    session.flush()
    return _view(person)


def set_disabled(session: Session, person_id: int, disabled: bool, *, actor: str) -> PersonView:
    """Disable a person (their sessions and links stop working) or enable them (audited)."""
    person = _get(session, person_id)
    if disabled and person.role == Role.ADMIN.value and not _admins_left(session, person_id):
        raise NotAllowed("the last admin cannot be disabled")
    person.disabled_at = utcnow() if disabled else None
    _bump_epoch(session, person)
    action = "person_disabled" if disabled else "person_enabled"
    audit.record(session, actor=actor, action=action, after=_summary(person))
    session.flush()
    return _view(person)
