"""Any text at all: the tagger answers, spans point at what they name, no exact point leaks."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from core.personal_data import find as find_flags
from core.personal_data import mask as redact
from pipeline.gazetteer import by_id
from pipeline.tagging import tag_text

WORDS = st.sampled_from(
    [
        "banjir",
        "sonde",
        "Oesapa",
        "di",
        "rob",
        "0812-3456-7890",
        "5371041208900003",
        "a@b.id",
        "https://x.id",
        "Pantai",
        "Lasiana",
        "tidak",
        "ada",
        "🙏",
        "-",
        ",",
        "Merdeka",
        "air",
        "mata",
    ]
)
TEXTS = st.one_of(st.text(max_size=200), st.lists(WORDS, max_size=30).map(" ".join))


@settings(max_examples=150, deadline=None)
@given(TEXTS)
def test_tag_text_handles_any_text(text: str) -> None:
    public = tag_text(text).public_dict()
    assert len(public["themes"]) <= 3
    for flag in public["flags"]:
        if flag["start"] is not None and flag["kind"] != "spam":
            assert text[flag["start"] : flag["end"]] == flag["text"]
    assert public["lang"] in {"id", "mkn", "en", "mixed", "und"}


@settings(max_examples=100, deadline=None)
@given(TEXTS)
def test_redacted_text_has_no_flags_left(text: str) -> None:
    flags = find_flags(text)
    assert all(a.end <= b.start for a, b in itertools.pairwise(flags))
    assert not [f for f in find_flags(redact(text)) if f.kind in {"phone", "nik", "email"}]


@settings(max_examples=100, deadline=None)
@given(st.floats(-12, -7), st.floats(118, 126))
def test_no_exact_point_in_public_output(lat: float, lon: float) -> None:
    public = tag_text("cerita", chat_point=(lat, lon)).public_dict()
    assert "exact" not in repr(public)
    place = public["place"]
    if place is not None:  # the only coordinates are the gazetteer's own for the public place
        known = by_id()[place["id"]]
        assert (place["lat"], place["lon"]) == (known.lat, known.lon)
    for flag in public["flags"]:
        assert flag["text"] is None or str(lat) not in flag["text"]
