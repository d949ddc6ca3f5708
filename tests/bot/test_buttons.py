"""Button tokens: opaque, short, what was stored; one press per contributor keyboard."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot import buttons
from bot.buttons import Button
from tests.moderation.conftest import add_story


def _data(markup: object) -> list[str]:
    rows = markup.inline_keyboard  # type: ignore[attr-defined]
    return [button.callback_data for row in rows for button in row]


def test_tokens_are_opaque_short_and_resolve_to_what_was_stored(engine: Engine) -> None:
    story_id = add_story(engine, ref="SP-TOK1")
    rows = [[Button("Tolak", "reject", {"reason": "duplicate"})], [Button("Setujui", "approve")]]
    reject, approve = _data(
        buttons.keyboard(engine, rows, scope=buttons.MODERATOR, submission_id=story_id, version=2)
    )
    assert reject != approve and all(len(data.encode()) <= 64 for data in (reject, approve))
    token = reject.removeprefix(buttons.MODERATOR)
    assert "SP-TOK1" not in token and "reject" not in token and token != str(story_id)
    pressed = buttons.press(engine, reject, scope=buttons.MODERATOR, once=False)
    assert pressed is not None
    assert (pressed.submission_id, pressed.action, pressed.payload, pressed.version) == (
        story_id,
        "reject",
        {"reason": "duplicate"},
        2,
    )
    # A moderator's card keeps working after a press: the story version guards it.
    assert buttons.press(engine, reject, scope=buttons.MODERATOR, once=False) is not None
    assert buttons.press(engine, approve, scope=buttons.MODERATOR, once=False) is not None
    garbled = reject[:-1] + ("A" if reject[-1] != "A" else "B")
    assert buttons.press(engine, garbled, scope=buttons.MODERATOR, once=False) is None
    assert buttons.press(engine, "", scope=buttons.MODERATOR, once=False) is None
    assert buttons.press(engine, "m:" + "x" * 200, scope=buttons.MODERATOR, once=False) is None
    # Another scope's data means nothing here.
    assert buttons.press(engine, reject, scope=buttons.CONTRIBUTOR, once=True) is None


def test_a_contributor_keyboard_answers_one_press(engine: Engine) -> None:
    rows = [[Button("Kirim", "submit"), Button("Ubah", "change")]]
    submit, change = _data(buttons.keyboard(engine, rows, scope=buttons.CONTRIBUTOR))
    other_keyboard = _data(buttons.keyboard(engine, rows, scope=buttons.CONTRIBUTOR))
    pressed = buttons.press(engine, submit, scope=buttons.CONTRIBUTOR, once=True)
    assert pressed is not None and pressed.action == "submit"
    # The whole keyboard is retired, other keyboards are not.
    assert buttons.press(engine, submit, scope=buttons.CONTRIBUTOR, once=True) is None
    assert buttons.press(engine, change, scope=buttons.CONTRIBUTOR, once=True) is None
    assert buttons.press(engine, other_keyboard[1], scope=buttons.CONTRIBUTOR, once=True)
