"""Composing X posts: the weighted count by runs (publishers.text.twitter_weighted_length) against
twitter-text's count of each whole text, and against composing for Mastodon, in the same run.

Stories are the corpus's openings and details (benchmarks/corpus.py) made long enough to be
shortened, some with emoji, a link and 30 campaign tags, so the composer tries many cuts.

    PYTHONPATH=. python benchmarks/compose_x.py [--stories 200]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from twitter_text import parse_tweet

from benchmarks.corpus import DETAILS, OPENINGS
from core.projections import PublicStory
from publishers.channels import x as x_channel
from publishers.formatting import compose

TAGS = ["AdilUntukBumi", "LangkahHariIni", *(f"PesisirNTT{n}" for n in range(30))]
LINK = "https://suarapesisir.org/cerita/SP-0042"


def stories(count: int, seed: int = 7) -> list[PublicStory]:
    """`count` long stories, a third of them with emoji."""
    rng = random.Random(seed)
    made = []
    for number in range(count):
        parts = [rng.choice(OPENINGS).format(place="Oesapa")]
        parts += [rng.choice(DETAILS) for _ in range(rng.randint(3, 8))]
        if number % 3 == 0:
            parts.append("🌊🌴😢")
        made.append(
            PublicStory(
                text=" ".join(parts),
                ref=f"SP-{number:04d}",
                place_name="Oesapa",
                themes=("aksi-warga",),
                images=(),
            )
        )
    return made


def timed(run: Callable[[], object]) -> float:
    """Seconds for one call of `run`."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stories", type=int, default=200)
    args = parser.parse_args()
    corpus = stories(args.stories)

    def compose_all(kind: str) -> None:
        for story in corpus:
            compose(kind, story, hashtags=TAGS, link=LINK)

    mastodon = timed(lambda: compose_all("mastodon"))
    runs_cold = timed(lambda: compose_all("x"))
    runs_warm = timed(lambda: compose_all("x"))
    # The same composing with twitter-text counting each whole text (the plain way).
    by_runs = x_channel.twitter_weighted_length
    x_channel.twitter_weighted_length = lambda text: int(parse_tweet(text).weightedLength)
    try:
        whole = timed(lambda: compose_all("x"))
    finally:
        x_channel.twitter_weighted_length = by_runs
    per = 1000 / len(corpus)
    print(f"{len(corpus)} stories, {len(TAGS)} tags each")
    print(f"mastodon (baseline)            {mastodon * per:8.2f} ms/post  1.00x")
    for name, seconds in (
        ("x, whole-text count", whole),
        ("x, runs, first time", runs_cold),
        ("x, runs, runs cached", runs_warm),
    ):
        print(f"{name:30} {seconds * per:8.2f} ms/post  {seconds / mastodon:5.2f}x")
    print(f"whole-text count / runs (first time): {whole / runs_cold:.1f}x")


if __name__ == "__main__":
    main()
