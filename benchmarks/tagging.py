"""Tagging benchmark: 1,000 stories through `tag_text` (rules + model), against the rules alone.

Builds the texts with `benchmarks.corpus.story_texts` (the corpus every benchmark uses), loads
the rules and the model once (timed apart), then times on the same texts, interleaved, the
fastest of `--repeat` rounds counting:

- tag_text: themes (rules + model), place, language, flags, spam — what the pipeline runs;
- rules-only tag_text: the same with the themes of the rules alone (the tagger before the model);
- themes: `tag_themes` (rules + model) against `tag_rules` alone.

Run: PYTHONPATH=. python benchmarks/tagging.py [--stories 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from benchmarks.corpus import story_texts
from core.personal_data import find
from pipeline.language import detect_language
from pipeline.places import resolve_place
from pipeline.safety import spam_score
from pipeline.tagging import tag_text
from pipeline.theme_model import model
from pipeline.theme_rules import rules
from pipeline.themes import tag_rules, tag_themes


def rules_only_tag_text(text: str) -> Any:
    """What `tag_text` did before the model: the rules' themes plus the same other steps."""
    return (
        tag_rules(text),
        resolve_place(chat_point=None, photo_points=(), text=text),
        detect_language(text),
        find(text),
        spam_score(text),
    )


def best_of(fn: Callable[[str], Any], texts: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = story_texts(args.stories)
    start = time.perf_counter()
    rules()
    model()
    print(f"loading rules and model once: {time.perf_counter() - start:.2f} s")
    tag_text(texts[0])  # warm caches (gazetteer index, stems)
    ways: dict[str, Callable[[str], Any]] = {
        "tag_text (rules + model)": tag_text,
        "tag_text, rules alone": rules_only_tag_text,
        "tag_themes (rules + model)": tag_themes,
        "tag_rules": tag_rules,
    }
    timed = {name: best_of(fn, texts, args.repeat) for name, fn in ways.items()}
    print(f"{args.stories} stories, best of {args.repeat}:")
    for name, seconds in timed.items():
        print(f"  {name:<28} {seconds:6.2f} s  ({1000 * seconds / args.stories:.2f} ms a story)")
    full = timed["tag_text (rules + model)"] / timed["tag_text, rules alone"]
    themes = timed["tag_themes (rules + model)"] / timed["tag_rules"]
    print(f"tag_text with the model takes {full:.2f}x the time of the rules alone")
    print(f"themes with the model take {themes:.2f}x the time of the rules alone")


if __name__ == "__main__":
    main()
