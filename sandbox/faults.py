"""Named points inside long operations where a test can stop the process (crash-safety tests).

`SANDBOX_PAUSE_AT=reset.inserted sandbox scenario reset ...` prints "paused at reset.inserted" on
stderr and sleeps there, so a test can kill the process mid-transaction and check nothing changed.
Tests that need an exception instead monkeypatch `checkpoint`.

Also here: `write_atomically`, the one way a file a record points at is written (whole or not at all).
"""

from __future__ import annotations

import errno
import os
import secrets
import sys
import time
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session


def checkpoint(name: str) -> None:
    """Pause here (for a kill) when SANDBOX_PAUSE_AT names this point; otherwise do nothing."""
    if os.environ.get("SANDBOX_PAUSE_AT") == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("SANDBOX_PAUSE_SECONDS", "120")))


# --- Files a record points at: written whole or not at all -----------------------------------------------
#
# A full disk (ENOSPC), a folder that cannot be written, or a crash in the middle of a write must never leave
# a row pointing at a missing or shortened file. A file is written under a temporary name in the same
# folder, checked for its full size, synced, and only then renamed to its final name (a rename is atomic);
# on any failure the temporary file is removed and the OSError goes to the caller, which refuses the
# change (its transaction, and so the row, is rolled back). A file written for a transaction that then
# rolls back is removed too (`remove_if_rolled_back`), so no file outlives its row either.

_NEW_FILES = "sandbox_new_files"


def _write_all(handle: BinaryIO, data: bytes) -> None:
    """Write `data` to an open file (the one place a test makes the disk fail, part way or at once)."""
    handle.write(data)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that the path holds either nothing or the whole file; raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with temporary.open("wb") as handle:
            _write_all(handle, data)
            handle.flush()
            os.fsync(handle.fileno())
        if temporary.stat().st_size != len(data):  # a short write that raised nothing
            raise OSError(errno.EIO, f"short write: {temporary.stat().st_size} of {len(data)} bytes", str(path))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_if_rolled_back(session: Session, path: Path) -> None:
    """Delete `path` if the session's transaction rolls back (its row is gone, so must the file be)."""
    session.info.setdefault(_NEW_FILES, set()).add(path)


@event.listens_for(Session, "after_commit")
def _keep_new_files(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's end decides nothing about the transaction
        session.info.pop(_NEW_FILES, None)


@event.listens_for(Session, "after_rollback")
def _remove_new_files(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for path in session.info.pop(_NEW_FILES, ()):
        path.unlink(missing_ok=True)
