"""What a story holds, in the contributor's words: "tulisan, 3 foto dan 1 rekaman suara",
"tempat: Oesapa". Only what is there is named; counts are plain numbers with their noun.
"""

from __future__ import annotations

from bot.drafts import Draft
from core.i18n import t
from pipeline.places import resolve_place


def counted(lang: str, noun: str, count: int) -> str:
    """`1 foto`, `3 photos`, `1 voice recording` (`noun`: photo or recording)."""
    if count == 1:
        return t(lang, f"bot.contents.{noun}_one")
    return t(lang, f"bot.contents.{noun}_many", count=count)


def listed(lang: str, items: list[str]) -> str:
    """`a, b dan c` / `a, b and c`."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {t(lang, 'bot.contents.and')} {items[-1]}"


def media_phrase(lang: str, *, photos: int, recordings: int) -> str:
    """`3 foto dan 1 rekaman suara`; empty when there are none."""
    items = [counted(lang, "photo", photos)] if photos else []
    if recordings:
        items.append(counted(lang, "recording", recordings))
    return listed(lang, items)


def holds(lang: str, draft: Draft) -> str:
    """What the draft holds: `tulisan, 3 foto dan 1 rekaman suara` (empty when nothing)."""
    items = [t(lang, "bot.contents.text")] if draft.text else []
    if draft.photos:
        items.append(counted(lang, "photo", draft.photos))
    if draft.audio:
        items.append(counted(lang, "recording", draft.audio))
    return listed(lang, items)


def place_understood(lang: str, draft: Draft) -> str | None:
    """The place as we understood it: the gazetteer's name for a typed place or a shared point
    (the kelurahan or landmark, never the point itself), else the name as typed; None when no
    place was given. Blocking (the gazetteer): call it off the event loop."""
    if draft.point is not None:
        found = resolve_place(chat_point=draft.point, photo_points=(), text=None)
        if found is not None and found.id is not None:
            return found.name
        return draft.place_name or t(lang, "bot.contents.place_location")
    if draft.place_name:
        found = resolve_place(chat_point=None, photo_points=(), text=draft.place_name)
        return found.name if found is not None and found.id is not None else draft.place_name
    return None


def saved_line(lang: str, draft: Draft) -> str:
    """`✅ Tersimpan: 3 foto dan 1 rekaman suara · tempat: Oesapa.` Blocking (the gazetteer)."""
    parts = [holds(lang, draft)]
    place = place_understood(lang, draft)
    if place is not None:
        parts.append(t(lang, "bot.contents.place", place=place))
    return t(lang, "bot.saved.body", what=" · ".join(part for part in parts if part))
