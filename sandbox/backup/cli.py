"""`sandbox backup FILE [--force]` and `sandbox restore FILE [--force]`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask

from .archive import BackupError


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _refuse(exc: BackupError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


def register(app: Flask) -> None:
    """Add the backup and restore commands to the `sandbox` group."""

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
    def backup(file: Path, force: bool) -> None:
        """Write the whole database and the uploaded files to one archive FILE (safe while the app runs)."""
        from .dump import backup_database

        try:
            result = backup_database(file, force=force, progress=_progress)
        except BackupError as exc:
            _refuse(exc)
            return
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"backup written: {result.path} ({result.tables} tables, {result.rows:,} rows, "
                   f"{result.files:,} files, {result.path.stat().st_size:,} bytes) in {result.seconds:.1f} s")

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Replace everything in a database that already holds data.")
    def restore(file: Path, force: bool) -> None:
        """Restore an archive FILE into an empty database (SQLite or PostgreSQL) and the upload folder."""
        from .restore import restore_database

        try:
            result = restore_database(file, force=force, progress=_progress)
        except BackupError as exc:
            _refuse(exc)
            return
        click.echo(f"restored {result.rows:,} rows in {result.tables} tables and {result.files:,} files "
                   f"(schema revision {result.revision}, from {result.source_engine}) in {result.seconds:.1f} s")
