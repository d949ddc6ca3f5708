"""Start-up of `pesisir` commands: `--help` of each command as a whole process, against the old
way (every command module and what it needs imported before anything happens), in one run.

Each command is started `--repeat` times, interleaved with the baseline, and the fastest run
counts (the least disturbed by other processes on a shared machine); the median is shown too.

    PYTHONPATH=. python benchmarks/startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = [[], ["queue", "list"], ["export"], ["run"], ["web"]]

#: What the old `cli.main` imported before parsing its arguments (the bot, the dashboard, the
#: reports, the pipeline and every channel): the baseline, measured as a process the same way.
EAGER = (
    "import bot.app, web, reports, pipeline, pipeline.images, publishers, publishers.worker, "
    "moderation, cli.checks_telegram, core.models, core.config, core.db"
)


def _seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    """Print the start-up of each command's `--help` and the baseline's."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    python = sys.executable
    bare = [python, "-c", "pass"]
    baseline = [
        python,
        "-c",
        f"{EAGER}; from cli.main import main; import sys; sys.argv = ['pesisir', '--help']; main()",
    ]
    runs: dict[str, list[float]] = {}
    for _ in range(repeat):
        runs.setdefault("python itself", []).append(_seconds(bare))
        runs.setdefault("baseline: everything imported, then --help", []).append(_seconds(baseline))
        for command in COMMANDS:
            label = " ".join(["pesisir", *command, "--help"])
            runs.setdefault(label, []).append(_seconds([python, "-m", "cli", *command, "--help"]))
    old = min(runs["baseline: everything imported, then --help"])
    print(f"{'what':<46} {'fastest':>9} {'median':>9}  vs baseline")
    for label, times in runs.items():
        print(
            f"{label:<46} {min(times) * 1000:7.0f} ms {statistics.median(times) * 1000:6.0f} ms"
            f"  {old / min(times):5.1f}× faster"
        )


if __name__ == "__main__":
    main()
