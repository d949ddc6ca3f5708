"""`pesisir queue list|show`, `approve`, `reject`, `audit`: moderation from a terminal.

They call the same functions as the group's buttons, with the same checks and audit rows; the
actor is `cli:<os user>` (whoever can run the CLI against the database is trusted as an admin).
"""

from __future__ import annotations

import getpass
import json
from typing import Annotated, Any

import typer
from sqlmodel import Session

from cli import common
from core.errors import PesisirError
from core.i18n import t
from core.models import Submission
from moderation import decisions, queue

queue_app = typer.Typer(help="The review queue.", no_args_is_help=True)

LANG = "en"  # the terminal speaks English; the group speaks the moderators' language


def cli_actor() -> str:
    """`cli:<os user>`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = "unknown"
    return f"cli:{user}"


def _session() -> Session:
    settings = common.load_settings()
    return Session(common.engine_for(settings), expire_on_commit=False)


def _fail(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(code=1)


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


@queue_app.command("list")
def queue_list(
    status: Annotated[
        str | None, typer.Option(help="a state (pending_review, approved, ...) or 'all'")
    ] = None,
    theme: Annotated[str | None, typer.Option(help="a theme slug, e.g. banjir-rob")] = None,
    place: Annotated[
        str | None, typer.Option(help="a gazetteer id or part of a place name")
    ] = None,
    search: Annotated[str | None, typer.Option(help="words in the text")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON array")] = False,
) -> None:
    """Stories waiting for a moderator (or in the given state), oldest first."""
    with _session() as session:
        try:
            stories = queue.list_stories(
                session, status=status, theme=theme, place=place, search=search
            )
        except PesisirError as error:
            raise _fail(error) from None
        counts = queue.media_counts(session, [s.id for s in stories if s.id is not None])
        rows = [queue.summary_row(s, counts.get(s.id or 0, 0)) for s in stories]
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        typer.echo("No stories.")
        return
    for row in rows:
        text = (row["public_text"] or row["text"] or "").replace("\n", " ")
        themes = ",".join(row["themes"]) or "-"
        typer.echo(
            f"{row['ref']:<10} {row['state']:<15} {row['created_at'][:16]}  "
            f"{row['media_count']} photo(s)  {row['place'] or '-'}  [{themes}]  {text[:60]}"
        )


def _details_dict(details: queue.StoryDetails) -> dict[str, Any]:
    story = details.story
    row = queue.summary_row(story, len(details.media))
    row.update(
        contributor=details.contributor.pseudonym,
        contributor_previous=details.contributor.previous,
        contributor_published=details.contributor.published,
        place_source=story.place_source,
        place_id=story.place_id,
        theme_evidence={str(th.get("slug")): th.get("evidence", []) for th in story.themes},
        flags=story.flags,
        spam_score=story.spam_score,
        duplicate_of=details.duplicate_ref,
        reject_reason=story.reject_reason,
        reject_note=story.reject_note,
        decided_by=story.decided_by,
        questions=story.questions,
        history=[queue.audit_row(e) for e in details.history],
    )
    return row


@queue_app.command("show")
def queue_show(
    ref: Annotated[str, typer.Argument(help="the story reference, e.g. SP-7K3Q")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """One story in full: text, themes with evidence, place, flags, consent, contributor."""
    with _session() as session:
        try:
            details = queue.show(session, ref)
        except PesisirError as error:
            raise _fail(error) from None
        data = _details_dict(details)
    if as_json:
        _echo_json(data)
        return
    contributor = t(
        LANG,
        "moderation.card.contributor",
        pseudonym=data["contributor"],
        previous=data["contributor_previous"],
        published=data["contributor_published"],
    )
    lines = [
        f"{data['ref']}  {data['state']}  (version {data['version']})",
        f"Created: {data['created_at']}",
        contributor,
        f"Consent: {data['consent'] or '-'}"
        + ("  (forced anonymous)" if data["force_anonymous"] else ""),
        f"Place: {data['place'] or '-'} ({data['place_source'] or 'no source'})",
        "Themes: "
        + (
            "; ".join(
                f"{slug} ({', '.join(map(str, ev)) or 'no evidence'})"
                for slug, ev in data["theme_evidence"].items()
            )
            or "-"
        ),
        f"Photos: {data['media_count']}",
    ]
    if data["flags"]:
        lines.append("Flags: " + "; ".join(str(flag.get("kind")) for flag in data["flags"]))
    if data["duplicate_of"]:
        lines.append(f"Possible duplicate of {data['duplicate_of']}")
    if data["spam_score"] is not None:
        lines.append(f"Spam score: {data['spam_score']:.2f}")
    if data["reject_reason"]:
        lines.append(f"Rejected: {data['reject_reason']} {data['reject_note'] or ''}".rstrip())
    lines += ["", data["text"] or "(no text)"]
    if data["public_text"]:
        lines += ["", "Public text (edited):", data["public_text"]]
    for item in data["questions"]:
        lines.append(f"Q: {item.get('question')}  A: {item.get('answer') or '(waiting)'}")
    typer.echo("\n".join(lines))


def _decide(ref: str, action: str, **kwargs: Any) -> Submission:
    with _session() as session:
        try:
            story = queue.get_by_ref(session, ref)
            assert story.id is not None
            decide = decisions.approve if action == "approve" else decisions.reject
            result = decide(
                session,
                story.id,
                actor=cli_actor(),
                expected_version=story.version,
                **kwargs,
            )
            session.commit()
        except PesisirError as error:
            session.rollback()
            raise _fail(error) from None
        return result


def approve(ref: Annotated[str, typer.Argument(help="the story reference")]) -> None:
    """Approve a story for publication; the contributor is told."""
    story = _decide(ref, "approve")
    typer.echo(f"{story.ref} approved.")


def reject(
    ref: Annotated[str, typer.Argument(help="the story reference")],
    reason: Annotated[
        str,
        typer.Option(
            help="not_climate | photo_unclear | duplicate | could_endanger | cannot_verify | other"
        ),
    ],
    note: Annotated[
        str | None, typer.Option(help="the reason in words (needed for 'other')")
    ] = None,
) -> None:
    """Reject a story with a reason; the contributor is told."""
    codes = [code.value for code in decisions.RejectReason]
    if reason not in codes:
        raise _fail(ValueError(f"unknown reason {reason!r}; one of {', '.join(codes)}"))
    story = _decide(ref, "reject", reason=reason, note=note)
    typer.echo(f"{story.ref} rejected ({reason}).")


def audit(
    ref: Annotated[str, typer.Argument(help="the story reference")],
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON array")] = False,
) -> None:
    """A story's history: who did what, when, with before and after."""
    with _session() as session:
        try:
            details = queue.show(session, ref)
        except PesisirError as error:
            raise _fail(error) from None
        rows = [queue.audit_row(event) for event in details.history]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        move = f"{row['from_state'] or ''} → {row['to_state']}" if row["to_state"] else ""
        extra = []
        if row["reason"]:
            extra.append(f"reason: {row['reason']}")
        if row["before"] is not None or row["after"] is not None:
            extra.append(
                f"before: {json.dumps(row['before'], ensure_ascii=False)} "
                f"after: {json.dumps(row['after'], ensure_ascii=False)}"
            )
        typer.echo(
            f"{row['at'][:19]}  {row['actor']:<20} {row['action']:<16} {move}  " + "  ".join(extra)
        )


def register(app: typer.Typer) -> None:
    """Add the moderation commands to the `pesisir` app."""
    app.add_typer(queue_app, name="queue")
    app.command()(approve)
    app.command()(reject)
    app.command()(audit)
