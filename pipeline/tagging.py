"""`tag_text()`: themes, place, language, flags and spam for one text (`pesisir tag`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.personal_data import Found, find
from pipeline.language import detect_language
from pipeline.places import PlaceResult, resolve_place
from pipeline.safety import is_spam, spam_reasons, spam_score
from pipeline.themes import ThemeTag, rules_version, tag_themes


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
            "themes": [
                {"slug": t.slug, "score": t.score, "evidence": list(t.evidence)}
                for t in self.themes
            ],
            "place": place,
            "lang": self.lang,
            "flags": flags,
            "spam_score": self.spam_score,
            "rules_version": self.rules_version,
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
            "themes": [
                {"slug": t.slug, "score": t.score, "evidence": list(t.evidence)}
                for t in self.themes
            ],
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
    chat_point: tuple[float, float] | None = None,
    photo_points: Sequence[tuple[float, float]] = (),
) -> TagResult:
    """Tag one story text (plus any shared location and photo GPS points); no database."""
    score = spam_score(text)
    spam = is_spam(text)
    flags = find(text)
    reasons = tuple(spam_reasons(text)) if spam else ()
    if spam:
        # the whole text is the span; `text` names the rules that matched (selling, chain, ...)
        flags.append(Found("spam", 0, len(text), ",".join(reasons)))
    return TagResult(
        themes=tuple(tag_themes(text)),
        place=resolve_place(chat_point=chat_point, photo_points=photo_points, text=text),
        lang=detect_language(text),
        flags=tuple(flags),
        spam_score=score,
        spam=spam,
        spam_reasons=reasons,
        rules_version=rules_version(),
    )
