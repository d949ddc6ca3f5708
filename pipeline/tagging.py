"""`tag_text()`: themes, place, language, flags and spam for one text (`pesisir tag`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.personal_data import Found, find
from pipeline.language import detect_language
from pipeline.places import PlaceResult, place_from_text, resolve_place
from pipeline.safety import is_spam, spam_reasons, spam_score
from pipeline.theme_model import model_version
from pipeline.themes import ThemeTag, rules_version, tag_themes, tagger_version


@dataclass(frozen=True, slots=True)
class TagResult:
    """Everything the text tagger found for one story."""

    themes: tuple[ThemeTag, ...]
    place: PlaceResult | None  # holds the private exact point: use public_dict() for output
    lang: str
    flags: tuple[Found, ...]  # personal data and links; `spam` spans the whole text
    spam_score: float
    spam: bool
    spam_reasons: tuple[str, ...]
    rules_version: str
    model_version: str = ""

    def theme_dicts(self) -> list[dict[str, Any]]:
        """Themes as stored and printed: slug, score, evidence words (as before), who chose the
        theme (`by`) and each piece of evidence with its span and source (text or speech)."""
        return [
            {
                "slug": t.slug,
                "score": t.score,
                "evidence": list(t.evidence),
                "by": t.by,
                "evidence_items": [
                    {"text": e.text, "start": e.start, "end": e.end, "source": e.source, "by": e.by}
                    for e in t.items
                ],
            }
            for t in self.themes
        ]

    def public_dict(self) -> dict[str, Any]:
        """JSON-ready result without exact coordinates (what the CLI prints)."""
        place = self.place.public() if self.place is not None else None
        flags = [
            {"kind": f.kind, "start": f.start, "end": f.end, "text": f.text} for f in self.flags
        ]
        if self.place is not None:
            # place problems (outside NTT, far from any place) as span-less flags
            flags += [
                {"kind": k, "start": None, "end": None, "text": None} for k in self.place.flags
            ]
        return {
            "themes": self.theme_dicts(),
            "place": place,
            "lang": self.lang,
            "flags": flags,
            "spam_score": self.spam_score,
            "rules_version": self.rules_version,
            "model_version": self.model_version,
        }

    def submission_fields(self) -> dict[str, Any]:
        """Values for the `Submission` columns of the same names (private: exact point included).

        Flags are stored as `{kind, span: [start, end], detail}`; `detail` never repeats a phone
        number, NIK, e-mail or link (the span points into the story text, which moderators see),
        so an export of flags cannot leak them.
        """
        place = self.place
        flags: list[dict[str, Any]] = [
            {
                "kind": f.kind,
                "span": [f.start, f.end],
                "detail": f.text if f.kind == "spam" else None,
            }
            for f in self.flags
        ]
        if place is not None:
            flags += [{"kind": k, "span": None, "detail": place.evidence} for k in place.flags]
        return {
            "lang": self.lang,
            "themes": self.theme_dicts(),
            "flags": flags,
            "spam_score": self.spam_score,
            "place_id": place.id if place else None,
            "place_name": place.name if place else None,
            "place_kind": place.kind if place else None,
            "place_source": place.source if place and place.id else None,
            "place_evidence": place.evidence if place else None,
            "exact_lat": place.exact_lat if place else None,
            "exact_lon": place.exact_lon if place else None,
        }


def tag_text(
    text: str,
    *,
    transcript: str | None = None,
    chat_point: tuple[float, float] | None = None,
    photo_points: Sequence[tuple[float, float]] = (),
) -> TagResult:
    """Tag one story (typed text and/or a voice note's transcript, plus any shared location and
    photo GPS points); no database. Theme evidence from the transcript says `source: "speech"`;
    a place found only in the transcript says "(speech)" in its evidence. Flags and spam look
    at the typed text (a transcript is for moderators and is never published unread)."""
    score = spam_score(text)
    spam = is_spam(text)
    flags = find(text)
    reasons = tuple(spam_reasons(text)) if spam else ()
    if spam:
        # the whole text is the span; `text` names the rules that matched (selling, chain, ...)
        flags.append(Found("spam", 0, len(text), ",".join(reasons)))
    place = resolve_place(chat_point=chat_point, photo_points=photo_points, text=text)
    if place is None and transcript:
        spoken = place_from_text(transcript)
        if spoken is not None:
            place = dataclasses.replace(spoken, evidence=f"{spoken.evidence} (speech)")
    return TagResult(
        themes=tuple(tag_themes(text, transcript=transcript)),
        place=place,
        lang=detect_language(text if text.strip() or not transcript else transcript),
        flags=tuple(flags),
        spam_score=score,
        spam=spam,
        spam_reasons=reasons,
        rules_version=rules_version(),
        model_version=model_version(),
    )


def stored_version() -> str:
    """What `Submission.pipeline_version` records besides the pipeline's own number."""
    return tagger_version()
