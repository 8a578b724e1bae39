"""Backup and restore: one portable, versioned archive of the whole database and the uploaded files.

`sandbox backup FILE` writes a zip (`archive.py` describes its members) from a consistent snapshot while
the app runs (`dump.py`); `sandbox restore FILE [--force]` rebuilds the schema by the migrations and loads
the rows into an empty SQLite or PostgreSQL database (`restore.py`): the way to move between engines.
"""

from __future__ import annotations

from .archive import BackupError
from .dump import BackupResult, backup_database
from .restore import RestoreResult, restore_database

__all__ = ["BackupError", "BackupResult", "RestoreResult", "backup_database", "restore_database"]
