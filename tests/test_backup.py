"""`sandbox backup` / `sandbox restore` (issue 9 "Backup and restore"; SPEC §9.2).

Round trips SQLite → SQLite, SQLite → PostgreSQL and PostgreSQL → SQLite: every row of every table equal,
the files equal, ids continue above the highest id ever given, the log stays append-only and the gradebook
gives the same numbers. Refusals: a newer schema, a corrupted or truncated file, a database holding data
(unless --force). A backup taken while another thread writes is consistent.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, inspect, make_url, select, text
from sqlalchemy.engine import Engine

from sandbox import create_app
from sandbox.backup import BackupError, backup_database, restore_database
from sandbox.backup.archive import MANIFEST, OMITTED_TABLES, ArchiveReader
from sandbox.classroom.grading.export import to_csv
from sandbox.classroom.grading.gradebook import gradebook
from sandbox.classroom.runs.services import current_class_run, reset_scenario, undo_reset
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.org.models import User
from sandbox.records.notes import add_note, upload_attachment
from tests.conftest import BASE_CONFIG, PG_URL, IsolatedClient, act_as, login, record_factory

ATTACHMENT = "报价单 quote.txt"
ATTACHMENT_BYTES = "第一版报价 v1\n".encode() * 50


# ---------------------------------------------------------------------------------------------- helpers


@pytest.fixture
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty second database to restore into (indirect param: into_sqlite or into_postgresql)."""
    if request.param == "into_sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    if not PG_URL:
        pytest.skip("set TEST_POSTGRES_URL")
    base = make_url(PG_URL)
    # One per xdist worker: two workers restoring at once must not drop each other's database.
    name = f"{base.database}_restore_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def second_app(url: str, uploads: Path) -> Flask:
    """An app over another database and upload folder (the machine a backup is restored on)."""
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(uploads)})
    app.test_client_class = IsolatedClient
    return app


def all_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the archive carries, read with the models' column types, in key order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in OMITTED_TABLES:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            tables[table.name] = [tuple(row) for row in conn.execute(select(table).order_by(*order))]
        tables["alembic_version"] = [tuple(r) for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return tables


def files_of(folder: Path) -> dict[str, str]:
    """Path below the folder → SHA-256 of every file."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def rewrite(archive: Path, out: Path, change: Any) -> None:
    """Copy an archive, letting `change(name, data)` return each member's new bytes."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info.filename)))


def counts(*models: Any) -> list[int]:
    """Row counts of models (every row, whatever the viewer)."""
    options = {"skip_visibility": True, "include_deleted": True}
    return [db.session.scalar(select(func.count()).select_from(m).execution_options(**options)) for m in models]


# ------------------------------------------------------------------------------------------ round trips


@pytest.fixture
def school(app: Flask, classroom: Any, create_run: Any) -> dict[str, Any]:
    """A classroom with Sales basics loaded in class A, reset and undone (so the highest lead id ever given
    is above the largest one left), some student work counted by the gradebook, a note and an attachment."""
    klass = classroom.classes["A"]
    teacher = classroom.user("teacher")
    create_run(klass, teacher)
    make_lead = record_factory("lead")
    lead = make_lead(classroom.user("studentA"), name="王芳 Wang Fang", company="Suzhou Silk")
    make_lead(classroom.user("studentB"), name="Class B lead")
    act_as(classroom.user("studentA"))
    add_note(lead, "客户想要报价 wants a quote")
    upload_attachment(lead, ATTACHMENT, ATTACHMENT_BYTES)
    db.session.commit()
    act_as(teacher)
    reset_scenario(klass)
    db.session.commit()
    highest_lead = db.session.scalar(select(func.max(Lead.id)).execution_options(skip_visibility=True))
    act_as(teacher)
    undo_reset(klass)  # puts the student's work back; the reset's higher ids are gone but were given
    db.session.commit()
    act_as(None)
    highest_log = db.session.scalar(select(func.max(LogEntry.id)).execution_options(skip_visibility=True))
    assert highest_lead > db.session.scalar(select(func.max(Lead.id)).execution_options(skip_visibility=True))
    return {"class": klass, "highest_lead": highest_lead, "highest_log": highest_log,
            "grades": to_csv(gradebook(current_class_run(klass.id)))}


@pytest.mark.parametrize("target_url", ["into_sqlite", "into_postgresql"], indirect=True)
def test_round_trip_keeps_every_row_file_id_and_grade(app, backend, school, classroom, target_url, tmp_path,
                                                      monkeypatch):
    # SQLite builds a big table's indexes after its rows: make the leads table "big" here.
    monkeypatch.setattr("sandbox.backup.restore.BIG_TABLE", 100)
    indexes = {t: sorted(i["name"] for i in inspect(db.engine).get_indexes(t)) for t in ("leads", "log_entries")}
    uploads = Path(app.config["UPLOAD_FOLDER"])
    archive = tmp_path / "school.zip"
    result = backup_database(archive)
    assert result.warnings == []
    before = all_rows(db.engine)
    assert len(before["leads"]) > 100 and len(before["log_entries"]) > 10
    manifest = ArchiveReader(archive).manifest
    assert manifest["source_engine"] == backend and manifest["revision"] == before["alembic_version"][0][0]
    assert {t["name"]: t["rows"] for t in manifest["tables"]}["leads"] == len(before["leads"])
    assert set(manifest["omitted_tables"]) == {"cached_books", "rate_limit_counters"}

    restored_uploads = tmp_path / "restored-uploads"
    other = second_app(target_url, restored_uploads)
    with other.app_context():
        lines: list[str] = []
        loaded = restore_database(archive, progress=lines.append)
        assert loaded.rows == sum(len(rows) for rows in before.values()) - 1  # alembic_version: by the migrations
        assert any(line.startswith("  log_entries:") for line in lines)
        after = all_rows(db.engine)
        assert after.keys() == before.keys()
        for name, rows in before.items():
            assert after[name] == rows, f"table {name} differs after the restore"
        assert files_of(restored_uploads) == files_of(uploads)
        assert {t: sorted(i["name"] for i in inspect(db.engine).get_indexes(t)) for t in indexes} == indexes
        assert ATTACHMENT_BYTES in [p.read_bytes() for p in (restored_uploads / "attachments").iterdir()]

        # The gradebook gives the same numbers.
        assert to_csv(gradebook(current_class_run(school["class"].id))) == school["grades"]

        # New ids continue above the highest ever given: no reuse of a lead id a reset gave and an undo took back.
        student = db.session.get(User, classroom.user("studentA").id)
        new = record_factory("lead")(student, name="after the restore")
        assert new.id > school["highest_lead"]
        entry = db.session.scalar(select(LogEntry).where(LogEntry.object_type == "lead", LogEntry.object_id == new.id)
                                  .execution_options(skip_visibility=True))
        assert entry.id > school["highest_log"]

        # The student signs in to the restored copy (password hashes came along) and sees their lead.
        client = other.test_client()
        assert login(client, "studentA").status_code == 302
        assert "王芳 Wang Fang" in client.get("/leads/").get_data(as_text=True)

        # The log is append-only in the restored database.
        entries = len(all_rows(db.engine)["log_entries"])
        for statement in ("UPDATE log_entries SET verb = 'x'", "DELETE FROM log_entries"):
            with pytest.raises(Exception, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(text(statement))
        assert len(all_rows(db.engine)["log_entries"]) == entries
        db.session.remove()
        db.engine.dispose()


# -------------------------------------------------------------------------------------------- refusals


@pytest.fixture
def small_archive(app: Flask, classroom: Any, tmp_path: Path) -> Path:
    """A backup of the classroom with one lead (no scenario: quick)."""
    record_factory("lead")(classroom.user("studentA"), name="Backed up")
    path = tmp_path / "small.zip"
    backup_database(path)
    return path


def run_cli(app: Flask, *args: str) -> Any:
    """Run a `sandbox` command of the app; the result has exit_code, stdout and stderr apart."""
    return app.test_cli_runner().invoke(args=list(args))


def restore_into_fresh(tmp_path: Path, archive: Path) -> Any:
    """Run `sandbox restore` into a new empty SQLite database; the CLI result."""
    other = second_app(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path / "fresh-uploads")
    with other.app_context():
        result = run_cli(other, "restore", str(archive))
        db.session.remove()
        db.engine.dispose()
    return result


def test_restore_refuses_an_archive_of_a_newer_schema(app, small_archive, tmp_path):
    newer = tmp_path / "newer.zip"

    def change(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["revision"] = "0099_from_the_future"
        return json.dumps(manifest).encode()

    rewrite(small_archive, newer, change)
    result = restore_into_fresh(tmp_path, newer)
    assert result.exit_code == 1
    assert "0099_from_the_future" in result.stderr and "newer version" in result.stderr


def test_restore_refuses_an_upload_path_outside_the_upload_folder(app, small_archive, tmp_path):
    evil = tmp_path / "evil.zip"

    def change(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["uploads"].append({"path": "../../outside.txt", "member": "uploads/x", "size": 1, "sha256": "0"})
        return json.dumps(manifest).encode()

    rewrite(small_archive, evil, change)
    result = restore_into_fresh(tmp_path, evil)
    assert result.exit_code == 1 and "outside the upload folder" in result.stderr
    assert not (tmp_path / "outside.txt").exists()


def test_restore_refuses_a_member_whose_checksum_does_not_match(app, small_archive, tmp_path):
    tampered = tmp_path / "tampered.zip"
    rewrite(small_archive, tampered,
            lambda name, data: data.replace(b"Backed up", b"Backed uq") if name == "tables/leads.jsonl" else data)
    result = restore_into_fresh(tmp_path, tampered)
    assert result.exit_code == 1
    assert "checksum mismatch in tables/leads.jsonl" in result.stderr and "Traceback" not in result.stderr


def test_restore_refuses_a_flipped_byte_and_a_truncated_file(app, small_archive, tmp_path):
    data = bytearray(small_archive.read_bytes())
    data[len(data) // 3] ^= 0xFF
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(small_archive.read_bytes()[: len(data) // 2])
    for bad in (flipped, truncated):
        result = restore_into_fresh(tmp_path, bad)
        assert result.exit_code == 1, bad
        assert ("\n" + result.stderr).count("\nerror: ") == 1 and "corrupted" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_every_flipped_byte_in_compressed_data_is_refused_as_corrupted(app, small_archive, tmp_path):
    """A flip inside deflated data fails in zlib (not zipfile) or in the checksum; both must be a BackupError."""
    raw = small_archive.read_bytes()
    with zipfile.ZipFile(small_archive) as archive:
        member = max((i for i in archive.infolist() if i.compress_type == zipfile.ZIP_DEFLATED),
                     key=lambda i: i.compress_size)
    name_length, extra_length = int.from_bytes(raw[member.header_offset + 26:member.header_offset + 28], "little"), \
        int.from_bytes(raw[member.header_offset + 28:member.header_offset + 30], "little")
    start = member.header_offset + 30 + name_length + extra_length
    refused = 0
    for offset in range(start, start + min(member.compress_size, 48)):
        data = bytearray(raw)
        data[offset] ^= 0xFF
        bad = tmp_path / "flip.zip"
        bad.write_bytes(bytes(data))
        with pytest.raises(BackupError, match="corrupted"):
            reader = ArchiveReader(bad)
            try:
                reader.verify(lambda message: None)
            finally:
                reader.close()
        refused += 1
    assert refused >= 16


def test_restore_refuses_a_database_holding_data_unless_forced(app, classroom, small_archive, tmp_path):
    record_factory("lead")(classroom.user("studentA"), name="Written after the backup")
    before = counts(Lead, LogEntry, User)
    result = run_cli(app, "restore", str(small_archive))
    assert result.exit_code == 1
    assert "not empty" in result.stderr and "--force" in result.stderr
    db.session.remove()
    assert counts(Lead, LogEntry, User) == before

    result = run_cli(app, "restore", "--force", str(small_archive))
    assert result.exit_code == 0, result.stderr
    assert "restored" in result.stdout
    db.session.remove()
    names = db.session.scalars(select(Lead.name).execution_options(skip_visibility=True)).all()
    assert names == ["Backed up"]
    assert counts(Lead, LogEntry, User) == [before[0] - 1, before[1] - 1, before[2]]


def test_backup_refuses_to_overwrite_a_file_unless_forced(app, small_archive):
    result = run_cli(app, "backup", str(small_archive))
    assert result.exit_code == 1 and "already exists" in result.stderr
    result = run_cli(app, "backup", "--force", str(small_archive))
    assert result.exit_code == 0, result.stderr
    assert "backup written" in result.stdout and "leads: 1 rows" in result.stderr


def test_a_missing_upload_is_a_warning_not_a_failure(app, classroom, tmp_path):
    lead = record_factory("lead")(classroom.user("studentA"), name="With a file")
    act_as(classroom.user("studentA"))
    att = upload_attachment(lead, "lost.txt", b"soon gone")
    db.session.commit()
    (Path(app.config["UPLOAD_FOLDER"]) / "attachments" / att.stored_name).unlink()
    result = run_cli(app, "backup", str(tmp_path / "b.zip"))
    assert result.exit_code == 0, result.stderr
    assert f"warning: the file of attachment {att.stored_name} is missing" in result.stderr
    assert ArchiveReader(tmp_path / "b.zip").manifest["missing_uploads"] == [f"attachments/{att.stored_name}"]


# ----------------------------------------------------------------------------------------- consistency


def test_a_backup_taken_while_another_thread_writes_is_consistent(app, classroom, tmp_path):
    """A writer creates leads through the real service (lead + its log entry in one transaction each) while
    the backup runs: the archive holds each lead with its entry, never one without the other."""
    owner_id = classroom.user("studentA").id
    written = threading.Semaphore(0)
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        with app.app_context():
            try:
                make = record_factory("lead")
                n = 0
                while not stop.is_set():
                    n += 1
                    make(db.session.get(User, owner_id), name=f"W{n}")
                    written.release()
            except BaseException as exc:  # noqa: BLE001  (reported by the test below)
                errors.append(exc)
                written.release()
            finally:
                db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(5):  # the writer is going before the backup starts…
            written.acquire(timeout=60)
        backup_database(tmp_path / "busy.zip")
        for _ in range(5):  # …and still going after it ended
            written.acquire(timeout=60)
    finally:
        stop.set()
        thread.join(60)
    assert errors == []
    reader = ArchiveReader(tmp_path / "busy.zip")
    tables = {t["name"]: t for t in reader.manifest["tables"]}
    leads = tables["leads"]
    name_at = [c["name"] for c in leads["columns"]].index("name")
    id_at = [c["name"] for c in leads["columns"]].index("id")
    lead_ids = {row[id_at] for row in reader.rows(leads) if row[name_at].startswith("W")}
    log = tables["log_entries"]
    cols = [c["name"] for c in log["columns"]]
    logged = {row[cols.index("object_id")] for row in reader.rows(log)
              if row[cols.index("verb")] == "lead.create" and row[cols.index("object_type")] == "lead"}
    assert lead_ids and lead_ids <= logged
    assert logged - lead_ids == set()
    db.session.remove()
    assert counts(Lead)[0] > len(lead_ids), "the writer did not go on writing after the snapshot"
    reader.close()
