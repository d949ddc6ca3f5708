"""A dispatch worker process for the multi-process tests: registers the test publishers, then
runs the same loop as `pesisir worker` until SIGTERM.

Usage: python -m tests.publishers.worker_process DATABASE_URL WORKER_ID DATA_DIR
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from core.config import Settings
from core.db import make_engine
from publishers.worker import run_worker
from tests.publishers.dispatch_support import register_test_publishers


def main() -> None:
    url, worker_id, data_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    register_test_publishers()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        database_url=url,
        dispatch_interval_seconds=0.1,
    )
    engine = make_engine(url)
    print("ready", flush=True)
    run_worker(engine, settings, worker_id=worker_id, stop=stop)
    engine.dispose()


if __name__ == "__main__":
    main()
