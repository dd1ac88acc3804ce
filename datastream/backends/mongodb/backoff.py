"""The one back-off used by every wait of the MongoDB storage (conflicts, locks, start-up)."""

from __future__ import annotations

import random
import time

__all__ = ["Backoff"]


class Backoff:
    """Jittered, exponentially growing pauses until ``patience`` seconds have passed.

    Waits are measured on the monotonic clock: they are about how long this process is
    willing to wait, not about the time of day a test may have frozen.
    """

    def __init__(self, patience: float, first: float = 0.002, cap: float = 0.1) -> None:
        self.patience = patience
        self._deadline = time.monotonic() + patience
        self._delay = first
        self._cap = cap

    def wait(self) -> bool:
        """Pause once and return ``True``; ``False`` (at once) when the patience is used up."""
        if time.monotonic() > self._deadline:
            return False
        time.sleep(self._delay * (1 + random.random()))
        self._delay = min(self._delay * 2, self._cap)
        return True
