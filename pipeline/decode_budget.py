"""How many pixels are decoded and rendered at once, across every thread of the process.

One full-size decode of a large PNG or HEIC is hundreds of megabytes (a 97 KB PNG can declare
100 MP); a story of ten of them processed in parallel would take gigabytes. Each photo holds its
decode cost in pixels from decoding until its renditions are written; a photo that does not fit
beside the others waits for them. A photo costing more than the whole budget runs alone.
`pipeline.images.process_many` holds each photo's cost in the parent process from handing it to
a worker process until the worker is done, so the budget bounds all of its processes together.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class DecodeBudget:
    """A shared allowance of pixels in memory at once."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0
        self.peak = 0  # the most pixels held at once so far (benchmarks and tests read it)
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        """Wait until `pixels` fit beside what others hold, hold them for the block."""
        cost = self.acquire(pixels)
        try:
            yield
        finally:
            self.release(cost)

    def acquire(self, pixels: int) -> int:
        """Wait until `pixels` fit beside what others hold and take them; what to release."""
        cost = min(max(pixels, 0), self.capacity)
        with self._changed:
            self._changed.wait_for(lambda: self.held == 0 or self.held + cost <= self.capacity)
            self.held += cost
            self.peak = max(self.peak, self.held)
        return cost

    def release(self, cost: int) -> None:
        """Give back what `acquire` took (from any thread)."""
        with self._changed:
            self.held -= cost
            self._changed.notify_all()
