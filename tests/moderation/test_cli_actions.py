"""Every decision a card offers, from the terminal: the same policy and the same checks."""

from __future__ import annotations

import getpass
import json

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings
from core.models import AuditEvent, Notification, Submission
from tests.moderation.conftest import MakeStory

runner = CliRunner()


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"PESISIR_DATABASE_URL": settings.effective_database_url, "PESISIR_LOG_LEVEL": "WARNING"}
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def _story(engine: Engine, ref: str) -> Submission:
    with Session(engine) as session:
        return session.exec(select(Submission).where(Submission.ref == ref)).one()


def test_each_card_action_from_the_terminal(
    settings: Settings, engine: Engine, make_story: MakeStory
) -> None:
    make_story(ref="SP-ACT1", consent="named")
    assert _run(settings, "ask", "SP-ACT1", "Di RT berapa?")[0] == 0
    assert _story(engine, "SP-ACT1").state == "needs_info"
    assert _run(settings, "edit", "sp-act1", "Air rob masuk rumah warga di Oesapa.")[0] == 0
    assert _run(settings, "themes", "SP-ACT1", "--add", "abrasi", "--remove", "banjir-rob")[0] == 0
    code, out = _run(settings, "place", "SP-ACT1", "Lasiana")
    assert code == 0 and "Lasiana" in out
    assert _run(settings, "anonymise", "SP-ACT1")[0] == 0
    story = _story(engine, "SP-ACT1")
    assert story.public_text == "Air rob masuk rumah warga di Oesapa."
    assert [theme["slug"] for theme in story.themes] == ["abrasi"]
    assert story.place_name and "Lasiana" in story.place_name and story.place_source == "moderator"
    assert story.force_anonymous
    assert _run(settings, "anonymise", "SP-ACT1", "--undo")[0] == 0
    assert not _story(engine, "SP-ACT1").force_anonymous
    assert _run(settings, "quarantine", "SP-ACT1", "--reason", "spam?")[0] == 0
    assert _story(engine, "SP-ACT1").state == "quarantined"
    assert _run(settings, "release", "SP-ACT1")[0] == 0
    assert _story(engine, "SP-ACT1").state == "pending_review"
    with Session(engine) as session:
        question = session.exec(select(Notification).where(Notification.kind == "question")).one()
        actions = [
            e.action
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.submission_id == _story(engine, "SP-ACT1").id)
            )
        ]
    assert question.params["question"] == "Di RT berapa?"
    for action in ("ask", "edit_text", "themes", "place", "force_anonymous", "quarantine"):
        assert action in actions
    code, out = _run(settings, "queue", "show", "SP-ACT1", "--json")
    assert "approve" in json.loads(out)["actions"]


def test_a_decision_on_a_version_someone_changed_is_refused_and_names_who(
    settings: Settings, engine: Engine, make_story: MakeStory
) -> None:
    make_story(ref="SP-ACT2")
    seen = _story(engine, "SP-ACT2").version
    assert _run(settings, "edit", "SP-ACT2", "Teks baru.")[0] == 0
    code, out = _run(settings, "approve", "SP-ACT2", "--version", str(seen))
    assert code == 1 and f"cli:{getpass.getuser()}" not in out  # the readable name only
    assert f"changed by {getpass.getuser()}" in out and "edit_text" in out
    assert _story(engine, "SP-ACT2").state == "pending_review"
    code, out = _run(settings, "release", "SP-ACT2")  # not quarantined nor rejected
    assert code == 1 and "not allowed" in out


def test_pin_an_approved_story_for_briefs(
    settings: Settings, engine: Engine, make_story: MakeStory
) -> None:
    make_story(ref="SP-PIN1")
    code, out = _run(settings, "pin", "SP-PIN1")  # still in review: not yet
    assert code == 1 and "approve it first" in out
    assert _run(settings, "approve", "SP-PIN1")[0] == 0
    version = _story(engine, "SP-PIN1").version
    code, out = _run(settings, "pin", "SP-PIN1")
    assert code == 0 and "pinned for policy briefs" in out
    story = _story(engine, "SP-PIN1")
    # Pinning publishes nothing new: the version stays, so a post being sent keeps its story.
    assert story.pinned_at is not None and story.version == version
    assert "pin" in json.loads(_run(settings, "queue", "show", "SP-PIN1", "--json")[1])["actions"]
    assert _run(settings, "pin", "SP-PIN1", "--undo")[0] == 0
    assert _story(engine, "SP-PIN1").pinned_at is None
    with Session(engine) as session:
        actions = [
            e.action
            for e in session.exec(select(AuditEvent).where(AuditEvent.submission_id == story.id))
        ]
    assert actions[-2:] == ["pin", "unpin"]
