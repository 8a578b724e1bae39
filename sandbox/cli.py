"""The `sandbox` command group; every command calls the same services as the web UI."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from sqlalchemy import func, select

from . import access
from .auth.usernames import username_is
from .backup import cli as backup_cli
from .errors import ServiceError
from .extensions import db
from .oplog import set_actor
from .org.models import Position, Role, User
from .serving import WorkerCount
from .workflows import cli as workflow_cli


def fail(message: str) -> None:
    """Print a clear error on stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def system_session() -> None:
    """CLI commands act as the system: every record visible, actions logged without a person."""
    access.use_viewer(access.SYSTEM)
    set_actor(None)


def in_transaction(command: Callable[..., Iterable[str] | None]) -> Callable[..., None]:
    """The CLI's boundary: run a command as the system in one transaction, as a web request runs.

    The command's changes commit once when it returns; then the lines it returned are printed (so a
    password or a run number is never shown for work that was not saved). A refusal (`ServiceError`)
    rolls back and goes to stderr with a non-zero exit; `fail()` or any other error rolls back too.
    """

    @functools.wraps(command)
    def bounded(*args: Any, **kwargs: Any) -> None:
        system_session()
        try:
            lines = command(*args, **kwargs)
        except ServiceError as exc:
            db.session.rollback()
            fail("\n".join([exc.message, *getattr(exc, "details", [])]))
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        for line in lines or ():
            click.echo(line)

    return bounded


def register_cli(app: Flask) -> None:
    """Add the `sandbox` commands to the app: setup, people and records, scenarios, grades, bench."""
    _register_setup(app)
    _register_people_and_records(app)
    _register_scenarios(app)
    _register_grades(app)
    app.cli.add_command(workflow_cli.workflow)  # sandbox workflow validate PATH
    backup_cli.register(app)  # sandbox backup FILE, sandbox restore FILE [--force]


def _register_setup(app: Flask) -> None:
    """init-db, create-admin, serve, demo and bench."""

    @app.cli.command("init-db")
    @click.option("--organization", default="示范学校 Demo School", help="Organisation name for a new database.")
    @in_transaction
    def init_db(organization: str) -> list[str]:
        """Create or upgrade the database schema (migrations) and the organisation root."""
        from flask_migrate import upgrade

        from .org.models import Organization
        from .org.services import create_organization

        upgrade(directory=str(Path(current_app.root_path).parent / "migrations"))
        if db.session.scalar(select(func.count()).select_from(Organization)) == 0:
            create_organization(organization)
        return [f"database ready: {db.engine.url.render_as_string(hide_password=True)}"]

    @app.cli.command("create-admin")
    @click.option("--username", required=True)
    @click.option("--password", required=True)
    @in_transaction
    def create_admin(username: str, password: str) -> list[str]:
        """Create an administrator at the root of the position tree."""
        from .auth.passwords import password_problem
        from .org.services import OrgError, create_user

        problem = password_problem(password, username)
        if problem:
            fail(problem)
        root = db.session.scalar(select(Position).where(Position.parent_id.is_(None)))
        if root is None:
            fail("the database has no organisation yet; run `sandbox init-db` first")
        try:
            create_user(None, username, username, password, Role.ADMIN, root)
        except OrgError as exc:  # until OrgError derives from ServiceError (then in_transaction reports it)
            fail(exc.message)
        return [f"administrator {username} created"]

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    @click.option("--workers", type=WorkerCount(), default=None,
                  help="Run the production server: gunicorn with this many worker processes "
                       "(auto: one per core, what a CPU-bound sync worker wants).")
    @click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
                  help="Threads per gunicorn worker (more than 1: gthread workers).")
    def serve(host: str, port: int, workers: int | None, threads: int) -> None:
        """Serve the application; with --workers N, gunicorn with N workers (for a lecture hall)."""
        if workers is not None:
            import os

            from .serving import gunicorn_command

            command = gunicorn_command(host, port, workers, threads)
            click.echo(f"serving on http://{host}:{port}/ with gunicorn, {workers} workers  (Ctrl+C stops)")
            sys.stdout.flush()
            # Replace this process: signals (Ctrl+C, SIGTERM, a process-group kill) reach gunicorn's master directly.
            os.execv(command[0], command)
        from werkzeug.serving import run_simple

        click.echo(f"serving on http://{host}:{port}/  (Ctrl+C stops)")
        run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)

    @app.cli.command("demo")
    @click.option("--password", default=None, help="One password for every demo account (default: random each).")
    @in_transaction
    def demo(password: str | None) -> list[str]:
        """Build a ready classroom on an empty database and print its accounts."""
        from .demo import build_demo

        if db.session.scalar(select(func.count()).select_from(User)):
            fail("the database already has users; `sandbox demo` only fills an empty one")
        try:
            accounts = build_demo(password)
        except ValueError as exc:
            fail(str(exc))
        return ["username, role, class, position, password", *(", ".join(row) for row in accounts)]

    @app.cli.command("bench")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line per measure.")
    @click.option("--quick", is_flag=True, help="Smaller data (a smoke run; figures are not the targets').")
    def bench(as_json: bool, quick: bool) -> None:
        """Measure pages against in-memory baselines; prints times and ratios."""
        from bench.runner import run_all

        run_all(as_json=as_json, quick=quick)


def _register_people_and_records(app: Flask) -> None:
    """roster import and import (records from a file)."""
    roster = click.Group("roster", help="Roster import.")
    app.cli.add_command(roster)

    @roster.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--class", "class_name", required=True, help="Class name or join code.")
    @in_transaction
    def roster_import(file: Path, class_name: str) -> list[str]:
        """Create approved accounts from a CSV; prints the generated passwords once."""
        from .org.roster import check_roster, import_roster
        from .org.services import OrgError

        klass = find_class(class_name)
        check = check_roster(file.read_bytes(), klass)
        if check.errors:
            for line, message in check.errors:
                click.echo(f"{file.name}:{line}: {message}", err=True)
            fail(f"{len(check.errors)} problem(s); nothing was imported")
        try:
            created = import_roster(None, klass, check)
        except OrgError as exc:  # until OrgError derives from ServiceError (then in_transaction reports it)
            fail(exc.message)
        return ["username, name, position, initial_password", *(
            f"{user.username}, {user.display_name}, {user.position.path_label if user.position else ''}, {pw}"
            for user, pw in created)]

    @app.cli.command("import")
    @click.argument("record_type", metavar="TYPE")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--user", "username", required=True, help="Who imports (and owns the new records).")
    @click.option("--good-rows-only", is_flag=True, help="Import the good rows even if others have errors.")
    @click.option("--map", "maps", multiple=True, metavar='"HEADER=FIELD"',
                  help="The field a column fills (or ignore), e.g. --map \"Lead Source=source\"; repeatable.")
    @in_transaction
    def import_records(record_type: str, file: Path, username: str, good_rows_only: bool,
                       maps: tuple[str, ...]) -> list[str]:
        """Import records of TYPE (e.g. leads) from a CSV or .xlsx file, checked like the web form."""
        from .records.import_cli import run_cli_import

        return run_cli_import(record_type, file, username, good_rows_only, maps)


def _register_scenarios(app: Flask) -> None:
    """scenario validate, list, load, reset and undo."""
    scenario = click.Group("scenario", help="Scenarios (scenarios/*.yaml): list, validate, load, reset, undo.")
    app.cli.add_command(scenario)

    @scenario.command("validate")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def scenario_validate(path: Path) -> None:
        """Check a scenario file: its problems on stderr (file: path: expectation), or a one-line summary."""
        from seed import ScenarioError, describe, load_scenario

        try:
            loaded = load_scenario(path)
        except ScenarioError as exc:
            click.echo("\n".join(exc.lines()), err=True)
            sys.exit(1)
        click.echo(f"{path.name}: OK: {describe(loaded)}")

    @scenario.command("list")
    @click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Folder of scenario files (default: the scenarios/ folder of the installation).")
    def scenario_list(folder: Path | None) -> None:
        """List the scenarios: name, titles, objectives and volumes; invalid files are reported on stderr."""
        from seed import SCENARIO_DIR, ScenarioError, describe, load_scenario, scenario_files

        bad = 0
        for path in scenario_files(folder or SCENARIO_DIR):
            try:
                click.echo(f"{path.stem}: {describe(load_scenario(path))}")
            except ScenarioError as exc:
                bad += 1
                click.echo("\n".join(exc.lines()), err=True)
        if bad:
            sys.exit(1)

    @scenario.command("load")
    @click.argument("name")
    @click.option("--class", "class_name", required=True, help="Class name or join code.")
    @click.option("--deadline", default=None, help="Deadline (local time) YYYY-MM-DD [HH:MM]; default from the scenario.")
    @in_transaction
    def scenario_load(name: str, class_name: str, deadline: str | None) -> list[str]:
        """Load scenario NAME into a class: new data for every student, a new run."""
        from .classroom.runs.services import load_scenario

        klass = find_class(class_name)
        return run_summary(load_scenario(klass, name, _deadline(deadline), progress=show_progress))

    @scenario.command("reset")
    @click.option("--class", "class_name", required=True, help="Class name or join code.")
    @click.option("--student", "username", default=None, help="Reset only this student's data.")
    @in_transaction
    def scenario_reset(class_name: str, username: str | None) -> list[str]:
        """Start the class's current scenario again, for the whole class or one student."""
        from .classroom.runs.services import reset_scenario

        klass = find_class(class_name)
        student = None
        if username is not None:
            student = db.session.scalar(select(User).where(username_is(username)))
            if student is None or student.class_id != klass.id:
                fail(f"no student {username!r} in {klass.name}")
        return run_summary(reset_scenario(klass, student, progress=show_progress))

    @scenario.command("undo")
    @click.option("--class", "class_name", required=True, help="Class name or join code.")
    @in_transaction
    def scenario_undo(class_name: str) -> list[str]:
        """Put back the data the class's latest load or reset replaced."""
        from .classroom.runs.services import undo_reset

        klass = find_class(class_name)
        run = undo_reset(klass)
        return [f"undid run #{run.id} ({run.scenario_name}) of {klass.name}"]


def _register_grades(app: Flask) -> None:
    """grades export."""
    grades = click.Group("grades", help="Grades of a class's scenario run: export as CSV or XLSX.")
    app.cli.add_command(grades)

    @grades.command("export")
    @click.option("--class", "class_name", required=True, help="Class name or join code.")
    @click.option("--format", "fmt", default="csv", show_default=True, help="csv or xlsx.")
    @click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="File to write.")
    @click.option("--run", "run_id", type=int, default=None, help="Class run id (default: the current run).")
    @in_transaction
    def grades_export(class_name: str, fmt: str, output: Path, run_id: int | None) -> list[str]:
        """Write the gradebook of a class run: one row per student, each objective's points, total, max."""
        from .classroom.grading.export import run_cli_export

        return [run_cli_export(find_class(class_name), fmt, output, run_id, fail)]


def _deadline(value: str | None) -> Any:
    """A local date or date-time from the command line as naive UTC (None stays None)."""
    from flask_babel import to_utc

    if value is None:
        return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if fmt == "%Y-%m-%d":
            parsed = parsed.replace(hour=23, minute=59)
        return to_utc(parsed)
    fail(f"--deadline: expected YYYY-MM-DD or YYYY-MM-DD HH:MM, got {value!r}")
    return None


def show_progress(step: str, rows: int) -> None:
    """A progress line per table of a load or reset, on stderr."""
    click.echo(f"  {step}: {rows:,} rows", err=True)


def run_summary(result: Any) -> list[str]:
    """Warnings of a load or reset on stderr now; its one-line summary, to print once it is committed."""
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    run = result.run
    return [f"run #{run.id}: {run.scenario_name}, {result.rows:,} records in {result.seconds:.2f} s "
            f"(replaced {result.replaced:,}); deadline {run.deadline:%Y-%m-%d %H:%M} UTC"]


def find_class(name_or_code: str) -> Position:
    """The class with this name or join code; else an error on stderr."""
    klass = db.session.scalar(
        select(Position).where(
            Position.kind == "class",
            (Position.name == name_or_code) | (func.upper(Position.join_code) == name_or_code.upper()),
        )
    )
    if klass is None:
        fail(f"no class named or coded {name_or_code!r}")
    return klass


def _create_app_for_cli() -> Flask:
    from . import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app_for_cli, add_default_commands=True, help="CRM Practice Sandbox.")
