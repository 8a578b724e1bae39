"""Reading an import file (CSV text or an .xlsx workbook) into a header and text rows, and keeping an
upload between the steps of the web import (mapping, then import) under the instance upload folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import secrets
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from .. import faults
from ..errors import ServiceError

MAX_ROWS = 20_000
TEMP_HOURS = 24
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class ImportFileError(ServiceError):
    """The file as a whole cannot be read (not CSV, wrong encoding, unknown columns…): shown at the file field."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "file")


@dataclass
class Table:
    """The header row and the data rows (physical line or sheet row where each starts, cell texts)."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def max_bytes() -> int:
    """The largest import file accepted, in bytes."""
    return int(current_app.config.get("IMPORT_MAX_BYTES", 10 * 1024 * 1024))


def is_xlsx(data: bytes) -> bool:
    """Whether the bytes are a zip container (an .xlsx workbook)."""
    return data.startswith(b"PK\x03\x04")


def check_size(data: bytes) -> None:
    """Refuse files over the import limit (the request limit is larger: attachments share it)."""
    limit = max_bytes()
    if len(data) > limit:
        raise ImportFileError(_("The file is larger than %(mb)s MB. Split it into smaller files.",
                                mb=f"{limit / 1024 / 1024:g}"))


def read_text(data: bytes, filename: str) -> str:
    """The file's text; a clear refusal for old workbooks, binaries, other extensions and unknown encodings."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("This is an old Excel workbook (.xls). In Excel choose “Save As” and the type "
                                "“Excel Workbook (.xlsx)” or “CSV UTF-8 (comma delimited)”, then upload that file."))
    if b"\x00" in data[:8192]:
        raise ImportFileError(_("This is neither a CSV text file nor an .xlsx workbook (it contains binary data)."))
    name = (filename or "").lower()
    if name and not name.endswith((".csv", ".txt")):
        raise ImportFileError(_("Upload a .csv or .xlsx file (this one is “%(name)s”).", name=filename))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The file is neither UTF-8 nor GBK text. Save it from Excel as “CSV UTF-8”."))


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    line = 0
    try:
        for raw in reader:
            start, line = line + 1, reader.line_num
            yield start, raw
    except csv.Error as exc:
        raise ImportFileError(_("Line %(line)d is not valid CSV: %(e)s", line=line + 1, e=str(exc))) from None


def _cell(value: Any) -> str:
    """A cell as the text a person typed: whole numbers without “.0”, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    damaged = _("This .xlsx workbook cannot be read (it is damaged or not really an Excel file). Open it in "
                "Excel and save it again, or save it as “CSV UTF-8”.")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, Exception) as exc:  # also openpyxl's InvalidFileException, XML parse errors
        raise ImportFileError(damaged) from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell(v) for v in values]
        except ImportFileError:
            raise
        except Exception as exc:  # a sheet whose XML is broken fails while streaming, not on open
            raise ImportFileError(damaged) from exc
    finally:
        book.close()


def read_table(data: bytes, filename: str) -> Table:
    """The file's header and rows (blank rows dropped, at most MAX_ROWS)."""
    check_size(data)
    rows = _xlsx_rows(data) if is_xlsx(data) else _csv_rows(read_text(data, filename))
    header: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    for line, raw in rows:
        if header is None:
            if not any(str(c).strip() for c in raw):
                continue  # blank lines above the header (Excel sheets often start lower)
            header = [str(c).strip() for c in raw]
            while header and not header[-1]:
                header.pop()  # trailing empty header cells of a sheet's used range
            continue
        if not any(cell.strip() for cell in raw):
            continue
        if len(body) >= MAX_ROWS:
            raise ImportFileError(_("At most %(n)s rows per file; split the file.", n=f"{MAX_ROWS:,}"))
        body.append((line, [cell.strip() for cell in raw]))
    if header is None:
        raise ImportFileError(_("The file is empty."))
    return Table(header, body)


# ---- uploads kept between the steps of the web import ----------------------------------------------------
def _folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "import-tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean_old(hours: float = TEMP_HOURS) -> None:
    """Delete kept uploads older than `hours` (unfinished imports)."""
    cutoff = time.time() - hours * 3600
    for path in _folder().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            continue


def keep(data: bytes, filename: str, user_id: int, record_type: str) -> str:
    """Store an upload under a random token (never the user's file name); returns the token."""
    token = secrets.token_urlsafe(24)
    meta = {"filename": filename[:255], "user_id": user_id, "type": record_type}
    try:
        clean_old()
        folder = _folder()
        # The file first, its facts last: `load` finds an upload only by its facts, so a failure between
        # the two (or a short file, which write_atomically never leaves) is never read as a good upload.
        faults.write_atomically(folder / token, data)
        faults.write_atomically(folder / f"{token}.json", json.dumps(meta).encode("utf-8"))
    except OSError as exc:
        _forget(Path(current_app.config["UPLOAD_FOLDER"]) / "import-tmp" / token)
        current_app.logger.error("import upload not kept: %s", exc)
        raise ImportFileError(_("The file could not be kept on the server for the next step; nothing was "
                                "imported. Try again, or tell your instructor.")) from exc
    return token


def _forget(path: Path) -> None:
    """Remove a kept file if it is there (clean-up after a failed write; never fails in turn)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def load(token: str, user_id: int, record_type: str) -> tuple[bytes, dict[str, Any]] | None:
    """The kept upload and its facts, if the token is this user's for this type and still there."""
    if not _TOKEN.match(token or ""):
        return None
    folder = _folder()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        data = (folder / token).read_bytes()
    except (FileNotFoundError, ValueError):
        return None
    if meta.get("user_id") != user_id or meta.get("type") != record_type:
        return None
    return data, meta


def save_meta(token: str, meta: dict[str, Any]) -> None:
    """Update the facts kept with an upload (the column choices of the mapping step)."""
    if not _TOKEN.match(token):
        return
    try:
        faults.write_atomically(_folder() / f"{token}.json", json.dumps(meta).encode("utf-8"))
    except OSError as exc:  # the old facts stay whole: the user may simply send the step again
        current_app.logger.error("import choices not kept: %s", exc)
        raise ImportFileError(_("The file could not be kept on the server for the next step; nothing was "
                                "imported. Try again, or tell your instructor.")) from exc


def drop(token: str) -> None:
    """Forget a kept upload (after it was imported)."""
    if not _TOKEN.match(token or ""):
        return
    for path in (_folder() / token, _folder() / f"{token}.json"):
        path.unlink(missing_ok=True)
