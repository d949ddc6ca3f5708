"""`pesisir queue list|show`, `approve`, `reject`, `audit` through the real Typer app."""

from __future__ import annotations

import getpass
import json

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings
from core.models import Notification, Submission
from tests.moderation.conftest import MakeStory

runner = CliRunner()


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"PESISIR_DATABASE_URL": settings.effective_database_url, "PESISIR_LOG_LEVEL": "WARNING"}
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_queue_list_json_has_the_promised_fields(
    settings: Settings, engine: Engine, make_story: MakeStory
) -> None:
    make_story(ref="SP-CLI1", media=2)
    make_story(ref="SP-CLI2", place=None)
    code, out = _run(settings, "queue", "list", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert [row["ref"] for row in rows] == ["SP-CLI1", "SP-CLI2"]
    first = rows[0]
    assert {"ref", "state", "created_at", "text", "media_count", "place", "consent"} <= set(first)
    assert (first["state"], first["media_count"], first["place"], first["consent"]) == (
        "pending_review",
        2,
        "Oesapa",
        "anonymous",
    )
    assert rows[1]["place"] is None
    code, out = _run(
        settings, "queue", "list", "--json", "--place", "Oesapa", "--theme", "banjir-rob"
    )
    assert [row["ref"] for row in json.loads(out)] == ["SP-CLI1"]
    code, out = _run(settings, "queue", "list")
    assert code == 0 and "SP-CLI1" in out and "SP-CLI2" in out


def test_show_approve_reject_and_audit(
    settings: Settings, engine: Engine, make_story: MakeStory
) -> None:
    make_story(ref="SP-CLI3")
    make_story(ref="SP-CLI4")
    code, out = _run(settings, "queue", "show", "SP-CLI3")
    assert code == 0, out
    assert "Kontributor #" in out and "Oesapa" in out and "Air rob masuk rumah" in out
    code, out = _run(settings, "queue", "show", "SP-CLI3", "--json")
    assert json.loads(out)["theme_evidence"] == {"banjir-rob": ["rob"]}

    code, out = _run(settings, "approve", "SP-CLI3")
    assert code == 0, out
    code, out = _run(settings, "reject", "SP-CLI4", "--reason", "other", "--note", "Sudah dimuat")
    assert code == 0, out
    code, out = _run(settings, "reject", "SP-CLI3", "--reason", "boring")
    assert code == 1 and "unknown reason" in out
    code, out = _run(settings, "approve", "SP-CLI3")  # already approved
    assert code == 1 and "not allowed" in out
    code, out = _run(settings, "approve", "SP-NOPE")
    assert code == 1 and "no story" in out

    with Session(engine) as session:
        states = {s.ref: (s.state, s.decided_by) for s in session.exec(select(Submission))}
        kinds = sorted(n.kind for n in session.exec(select(Notification)))
    user = getpass.getuser()
    assert states == {"SP-CLI3": ("approved", user), "SP-CLI4": ("rejected", user)}
    assert kinds == ["approved", "rejected"]

    code, out = _run(settings, "audit", "SP-CLI4", "--json")
    rows = json.loads(out)
    assert [(r["actor"], r["action"], r["to_state"]) for r in rows] == [
        ("pipeline", "pending_review", "pending_review"),
        (f"cli:{user}", "reject", "rejected"),
    ]
    assert rows[-1]["reason"] == "other: Sudah dimuat"
    code, out = _run(settings, "audit", "SP-CLI4")
    assert code == 0 and f"cli:{user}" in out and "reject" in out


def test_queue_list_pages_with_limit_and_after(settings: Settings, make_story: MakeStory) -> None:
    env = {"PESISIR_DATABASE_URL": settings.effective_database_url, "PESISIR_LOG_LEVEL": "WARNING"}
    for number in range(5):
        make_story(ref=f"SP-PG{number}")
    first = runner.invoke(app, ["queue", "list", "--limit", "2"], env=env)
    assert first.exit_code == 0, first.output
    lines = first.output.strip().splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["SP-PG0", "SP-PG1"]
    assert lines[-1].startswith("More stories than these 2: the same command with --after ")
    cursor = lines[-1].rsplit("--after ", 1)[1]
    rest = runner.invoke(
        app, ["queue", "list", "--json", "--limit", "10", "--after", cursor], env=env
    )
    assert [row["ref"] for row in json.loads(rest.stdout)] == ["SP-PG2", "SP-PG3", "SP-PG4"]
