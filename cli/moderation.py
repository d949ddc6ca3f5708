"""`pesisir queue list|show`, `audit`, and every decision a card offers, from a terminal:
`approve`, `reject`, `ask`, `edit`, `themes`, `place`, `anonymise`, `pin`, `quarantine`,
`release`.

Each calls `moderation.actions.apply` exactly as the group's buttons and the web dashboard do,
with the same checks and audit rows; the actor is `cli:<os user>` (whoever can run the CLI
against the database is trusted as an admin). `--version` is the story version you looked at
(`queue show`): when someone changed the story since, nothing happens and you are told who.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import common
from core.clock import format_duration
from core.errors import PesisirError
from core.i18n import t
from core.states import RejectReason

if TYPE_CHECKING:  # imported where used: `--help` loads no database library
    from sqlmodel import Session

    from core.projections import HistoryLine, ModeratorStory
    from moderation import actions
    from moderation.actions import Action

queue_app = typer.Typer(help="The review queue.", no_args_is_help=True)

LANG = "en"  # the terminal speaks English; the group speaks the moderators' language
Ref = Annotated[str, typer.Argument(help="the story reference, e.g. SP-7K3Q")]
Version = Annotated[
    int | None,
    typer.Option("--version", help="the story version you looked at (default: the current one)"),
]


def cli_actor() -> str:
    """`cli:<os user>`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = "unknown"
    return f"cli:{user}"


@contextmanager
def _session() -> Iterator[Session]:
    """A committed session; a known error becomes a one-line message and exit code 1."""
    from core.db import session_scope

    engine = common.open_database(common.load_settings())
    try:
        with session_scope(engine) as session:
            yield session
    except PesisirError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@queue_app.command("list")
def queue_list(  # noqa: PLR0917 - Typer maps each parameter to an option
    status: Annotated[
        str | None, typer.Option(help="a state (pending_review, approved, ...) or 'all'")
    ] = None,
    theme: Annotated[str | None, typer.Option(help="a theme slug, e.g. banjir-rob")] = None,
    place: Annotated[
        str | None, typer.Option(help="a gazetteer id or part of a place name")
    ] = None,
    search: Annotated[str | None, typer.Option(help="words in the text, or a reference")] = None,
    limit: Annotated[int, typer.Option(help="stories per page (1-500)")] = 50,
    after: Annotated[
        str | None, typer.Option(help="the cursor printed at the end of the previous page")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON array")] = False,
) -> None:
    """Stories waiting for a moderator (or in the given state), oldest first, a page at a time."""
    from moderation import queue

    wanted = queue.StoryFilter(status=status, theme=theme, place=place, search=search)
    with _session() as session:
        page = queue.list_page(session, wanted, limit=limit, after=after)
    rows = [queue.summary_row(item) for item in page.items]
    if as_json:
        _echo_json(rows)
        if page.next_cursor:
            typer.echo(f"next page: --after {page.next_cursor}", err=True)
        return
    if not rows:
        typer.echo("No stories.")
        return
    for row in rows:
        text = (row["public_text"] or row["text"] or "").replace("\n", " ")
        themes = ",".join(row["themes"]) or "-"
        typer.echo(
            f"{row['ref']:<10} {row['state']:<15} {row['created_at'][:16]}  "
            f"{row['media_count']} file(s)  {row['place'] or '-'}  [{themes}]  {text[:60]}"
        )
    if page.next_cursor:
        typer.echo(
            f"More stories than these {len(rows)}: the same command with --after {page.next_cursor}"
        )


def _details(story: ModeratorStory) -> dict[str, Any]:
    """A story in full as JSON-ready fields (no coordinates, no Telegram ids)."""
    from moderation import actions

    return {
        "ref": story.ref,
        "state": story.state,
        "version": story.version,
        "created_at": story.created_at.isoformat(),
        "submitted_at": story.submitted_at.isoformat() if story.submitted_at else None,
        "text": story.text,
        "public_text": story.public_text,
        "media_count": len(story.photos) + len(story.recordings),
        "photos": [
            {
                "position": photo.position,
                "width": photo.width,
                "height": photo.height,
                "taken_at": photo.taken_at,
                "renditions": sorted(photo.renditions),
                "error": photo.error,
            }
            for photo in story.photos
        ],
        # The automatic transcript is the model's, never published as it is.
        "recordings": [
            {
                "duration_seconds": recording.duration_seconds,
                "transcript": recording.transcript,
                "transcript_status": recording.transcript_status,
            }
            for recording in story.recordings
        ],
        "place": story.place_name,
        "place_id": story.place_id,
        "place_source": story.place_source,
        "themes": [theme.slug for theme in story.themes],
        "theme_evidence": {theme.slug: list(theme.evidence) for theme in story.themes},
        "consent": story.consent,
        "force_anonymous": story.force_anonymous,
        "contributor": story.contributor.pseudonym,
        "contributor_previous": story.contributor.previous,
        "contributor_published": story.contributor.published,
        "flags": list(story.flags),
        "spam_score": story.spam_score,
        "duplicate_of": story.duplicate_ref,
        "reject_reason": story.reject_reason,
        "reject_note": story.reject_note,
        "decided_by": story.decided_by,
        "questions": list(story.questions),
        "actions": [action.value for action in actions.available_actions(story)],
        "history": [_history_row(line) for line in story.history],
    }


def _history_row(line: HistoryLine) -> dict[str, Any]:
    return {
        "at": line.at.isoformat(),
        "actor": line.actor,
        "action": line.action,
        "from_state": line.from_state,
        "to_state": line.to_state,
        "reason": line.reason,
        "before": line.before,
        "after": line.after,
    }


@queue_app.command("show")
def queue_show(
    ref: Ref,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """One story in full: text, themes with evidence, place, flags, consent, contributor."""
    from core.projections import moderator_story
    from core.stories import find_story

    with _session() as session:
        data = _details(moderator_story(session, find_story(session, ref)))
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
        f"Photos: {len(data['photos'])}",
    ]
    if data["recordings"]:
        lengths = ", ".join(format_duration(r["duration_seconds"]) for r in data["recordings"])
        lines.append(f"Voice notes: {len(data['recordings'])} ({lengths})")
    if data["flags"]:
        lines.append("Flags: " + "; ".join(str(flag.get("kind")) for flag in data["flags"]))
    if data["duplicate_of"]:
        lines.append(f"Possible duplicate of {data['duplicate_of']}")
    if data["spam_score"] is not None:
        lines.append(f"Spam score: {data['spam_score']:.2f}")
    if data["reject_reason"]:
        lines.append(f"Rejected: {data['reject_reason']} {data['reject_note'] or ''}".rstrip())
    lines += ["", data["text"] or "(no text)"]
    for number, recording in enumerate(data["recordings"], start=1):
        status = recording["transcript_status"] or "not made yet"
        lines += ["", f"Automatic transcript (transkrip otomatis), voice note {number}:"]
        lines.append(recording["transcript"] or f"({status})")
    if data["public_text"]:
        lines += ["", "Public text (edited):", data["public_text"]]
    for item in data["questions"]:
        lines.append(f"Q: {item.get('question')}  A: {item.get('answer') or '(waiting)'}")
    lines += ["", "You may: " + (", ".join(data["actions"]) or "nothing (out of moderation)")]
    typer.echo("\n".join(lines))


def apply_action(
    ref: str, action: Action, payload: dict[str, Any] | None = None, version: int | None = None
) -> actions.Outcome:
    """Do one moderator's action from the terminal, as the card and the web do."""
    from core.stories import find_story
    from moderation import actions

    with _session() as session:
        story = find_story(session, ref)
        assert story.id is not None
        return actions.apply(
            session,
            story.id,
            action,
            payload,
            actor=cli_actor(),
            expected_version=story.version if version is None else version,
        )


def approve(ref: Ref, version: Version = None) -> None:
    """Approve a story for publication; the contributor is told."""
    from moderation.actions import Action

    outcome = apply_action(ref, Action.APPROVE, version=version)
    typer.echo(f"{outcome.ref} approved.")


def reject(
    ref: Ref,
    reason: Annotated[
        str,
        typer.Option(help=" | ".join(code.value for code in RejectReason)),
    ],
    note: Annotated[
        str | None, typer.Option(help="the reason in words (needed for 'other')")
    ] = None,
    version: Version = None,
) -> None:
    """Reject a story with a reason; the contributor is told."""
    from moderation.actions import Action

    outcome = apply_action(ref, Action.REJECT, {"reason": reason, "note": note}, version)
    typer.echo(f"{outcome.ref} rejected ({reason}).")


def ask(
    ref: Ref,
    question: Annotated[str, typer.Argument(help="the question, as the contributor will read it")],
    version: Version = None,
) -> None:
    """Ask the contributor a question; the story waits for the answer."""
    from moderation.actions import Action

    outcome = apply_action(ref, Action.ASK, {"question": question}, version)
    typer.echo(f"{outcome.ref}: question sent; it waits for the answer ({outcome.state}).")


def edit(
    ref: Ref,
    text: Annotated[str, typer.Argument(help="the public text (the original stays as it is)")],
    version: Version = None,
) -> None:
    """Set the public text of a story."""
    from moderation.actions import Action

    outcome = apply_action(ref, Action.EDIT_TEXT, {"text": text}, version)
    typer.echo(f"{outcome.ref}: public text saved.")


def accept_transcript(ref: Ref, version: Version = None) -> None:
    """Use a voice story's automatic transcript as its public text (after listening to it)."""
    from moderation.actions import Action

    outcome = apply_action(ref, Action.ACCEPT_TRANSCRIPT, version=version)
    typer.echo(f"{outcome.ref}: the automatic transcript is now the public text.")


def themes(
    ref: Ref,
    add: Annotated[list[str] | None, typer.Option("--add", help="a theme slug (repeat)")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="a theme slug (repeat)")
    ] = None,
    version: Version = None,
) -> None:
    """Add or remove themes of a story."""
    from core.stories import find_story
    from moderation.actions import Action

    with _session() as session:
        story = find_story(session, ref)
        current = [str(theme.get("slug")) for theme in story.themes]
    wanted = [slug for slug in current if slug not in (remove or [])]
    wanted += [slug for slug in add or [] if slug not in wanted]
    outcome = apply_action(ref, Action.SET_THEMES, {"themes": wanted}, version)
    typer.echo(f"{outcome.ref}: themes {', '.join(wanted) or '(none)'}.")


def place(
    ref: Ref,
    name: Annotated[str, typer.Argument(help="a kelurahan, desa or landmark, as typed")],
    version: Version = None,
) -> None:
    """Set the public place of a story (the gazetteer's best match, else the name as typed)."""
    from moderation.actions import Action
    from pipeline import search_places

    found = search_places(name, limit=1)
    chosen = (
        {"place_id": found[0].id, "name": found[0].name, "kind": found[0].kind}
        if found
        else {"place_id": None, "name": name, "kind": None}
    )
    outcome = apply_action(ref, Action.SET_PLACE, chosen, version)
    typer.echo(f"{outcome.ref}: place {chosen['name']}.")


def anonymise(
    ref: Ref,
    undo: Annotated[
        bool, typer.Option("--undo", help="publish with the chosen name again")
    ] = False,
    version: Version = None,
) -> None:
    """Publish a story without the contributor's name, even if they chose to be named."""
    from moderation.actions import Action

    outcome = apply_action(ref, Action.ANONYMISE, {"value": not undo}, version)
    typer.echo(f"{outcome.ref}: {'named as chosen' if undo else 'published anonymously'}.")


def pin(
    ref: Ref,
    undo: Annotated[bool, typer.Option("--undo", help="unpin it")] = False,
    version: Version = None,
) -> None:
    """Pin an approved story to be quoted in policy briefs (`pesisir brief`)."""
    from moderation.actions import Action

    outcome = apply_action(ref, Action.PIN, {"value": not undo}, version)
    typer.echo(f"{outcome.ref}: {'unpinned' if undo else 'pinned for policy briefs'}.")


def quarantine(
    ref: Ref,
    reason: Annotated[str | None, typer.Option(help="why, for the other moderators")] = None,
    version: Version = None,
) -> None:
    """Hold a story aside (spam, unsafe) until a moderator looks again."""
    from moderation.actions import Action

    outcome = apply_action(ref, Action.QUARANTINE, {"reason": reason}, version)
    typer.echo(f"{outcome.ref} quarantined.")


def release(ref: Ref, version: Version = None) -> None:
    """Bring a quarantined or rejected story back to review."""
    from moderation.actions import Action

    outcome = apply_action(ref, Action.RELEASE, version=version)
    typer.echo(f"{outcome.ref} is back in review.")


def audit(
    ref: Ref,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON array")] = False,
) -> None:
    """A story's history: who did what, when, with before and after."""
    from core.projections import moderator_story
    from core.stories import find_story

    with _session() as session:
        story = moderator_story(session, find_story(session, ref))
        rows = [_history_row(line) for line in story.history]
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
    for command in (approve, reject, ask, edit, themes, place, anonymise, pin, quarantine, release):
        app.command()(command)
    app.command("accept-transcript")(accept_transcript)
    app.command()(audit)
