"""Named points inside long operations where a test can stop the process (crash-safety tests).

`SANDBOX_PAUSE_AT=reset.inserted sandbox scenario reset ...` prints "paused at reset.inserted" on
stderr and sleeps there, so a test can kill the process mid-transaction and check nothing changed.
Tests that need an exception instead monkeypatch `checkpoint`.
"""

from __future__ import annotations

import os
import sys
import time


def checkpoint(name: str) -> None:
    """Pause here (for a kill) when SANDBOX_PAUSE_AT names this point; otherwise do nothing."""
    if os.environ.get("SANDBOX_PAUSE_AT") == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("SANDBOX_PAUSE_SECONDS", "120")))
