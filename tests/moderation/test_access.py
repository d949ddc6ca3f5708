"""Dashboard people, roles and one-time login links: single use, ten minutes, hash only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.errors import InvalidInput, NotAllowed
from core.models import AuditEvent, LoginToken
from moderation import access
from moderation.access import LoginRefused, Permission, Role


def test_a_link_works_once_within_ten_minutes_and_only_its_hash_is_kept(engine: Engine) -> None:
    with Session(engine) as session:
        ana = access.person_named(session, "Ana", "admin", actor="cli:root")
        token = access.issue_link(session, ana.id, issued_by="cli:root")
        session.commit()
        stored = session.exec(select(LoginToken)).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64
        assert access.check_link(session, token).name == "Ana"  # a look does not use it up
        assert access.consume_link(session, token).role is Role.ADMIN
        session.commit()
        with pytest.raises(LoginRefused) as used:
            access.consume_link(session, token)
        assert used.value.reason == "used"
        late = access.issue_link(
            session, ana.id, issued_by="cli:root", now=utcnow() - timedelta(minutes=11)
        )
        with pytest.raises(LoginRefused) as expired:
            access.check_link(session, late)
        assert expired.value.reason == "expired"
        with pytest.raises(LoginRefused) as unknown:
            access.consume_link(session, "not-a-token")
        assert unknown.value.reason == "unknown"
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions[:3] == ["person_added", "login_link_issued", "web_login"]


def test_roles_grant_permissions_and_epochs_end_sessions(engine: Engine) -> None:
    with Session(engine) as session:
        admin = access.add_person(session, name="Ana", role="admin", actor="cli:root")
        viewer = access.add_person(session, name="Vera", role="viewer", actor="web:Ana")
        assert admin.may(Permission.PEOPLE) and admin.may(Permission.PRIVATE)
        assert not viewer.may(Permission.PRIVATE) and not viewer.may(Permission.DECIDE)
        campaign = access.set_role(session, viewer.id, "campaign", actor="web:Ana")
        assert campaign.may(Permission.PLAN) and not campaign.may(Permission.DECIDE)
        assert access.current_person(session, viewer.id, viewer.epoch) is None  # new role: log in
        assert access.current_person(session, viewer.id, campaign.epoch) is not None
        access.log_out_everywhere(session, viewer.id, actor="web:Vera")
        assert access.current_person(session, viewer.id, campaign.epoch) is None
        with pytest.raises(NotAllowed, match="last admin"):
            access.set_role(session, admin.id, "viewer", actor="web:Ana")
        with pytest.raises(NotAllowed, match="last admin"):
            access.set_disabled(session, admin.id, True, actor="web:Ana")
        with pytest.raises(InvalidInput, match="unknown role"):
            access.add_person(session, name="X", role="boss", actor="web:Ana")
        disabled = access.set_disabled(session, viewer.id, True, actor="web:Ana")
        assert access.current_person(session, viewer.id, disabled.epoch) is None
        with pytest.raises(NotAllowed):
            access.issue_link(session, viewer.id, issued_by="web:Ana")
        assert all(e.submission_id is None for e in session.exec(select(AuditEvent)))


def test_a_telegram_moderator_gets_one_person(engine: Engine) -> None:
    with Session(engine) as session:
        first = access.person_for_telegram(session, 5551, "Ana Bria")
        again = access.person_for_telegram(session, 5551, "Ana B.")
        assert first.id == again.id and first.role is Role.MODERATOR and first.linked_to_telegram
        access.set_disabled(session, first.id, True, actor="web:Admin")
        with pytest.raises(NotAllowed):
            access.person_for_telegram(session, 5551, "Ana Bria")
