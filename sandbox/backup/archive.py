"""The backup archive: one zip file, readable without the sandbox.

Members:

- `manifest.json`: format and version, the schema revision (Alembic head) of the source, the source engine,
  when it was made, per table its columns (name and portable type) and row count, every member's size and
  SHA-256, the id high-water marks (so restored ids continue without reuse), the tables left out and why,
  the upload files and any referenced upload that was missing.
- `tables/<table>.jsonl`: one JSON array per row, values in the manifest's column order, typed by the
  column's portable type: `datetime`/`date`/`time` ISO 8601 (naive UTC, as stored), `decimal` a string,
  `bytes` base64, `json` the JSON document's text (so SQL NULL and a JSON `null` stay apart), and
  `int`/`float`/`bool`/`str` as JSON.
- `uploads/<path>`: the files of `UPLOAD_FOLDER`, at their path below it.

The manifest is written last; a reader checks every member against it before anything is restored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO, Any

import sqlalchemy as sa

FORMAT = "crm-sandbox-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TABLES_DIR = "tables/"
UPLOADS_DIR = "uploads/"
# Left out: derived or transient rows a restored installation rebuilds by itself.
OMITTED_TABLES = {
    "cached_books": "derived: generated books are cached again on the next reset",
    "rate_limit_counters": "transient: sign-in throttling counters expire within minutes",
}
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


def type_tag(column_type: sa.types.TypeEngine[Any]) -> str:
    """The portable type of a column type (how its values are written in the archive)."""
    checks: list[tuple[type, str]] = [
        (sa.Boolean, "bool"), (sa.Integer, "int"), (sa.Float, "float"), (sa.Numeric, "decimal"),
        (sa.DateTime, "datetime"), (sa.Date, "date"), (sa.Time, "time"), (sa.LargeBinary, "bytes"),
        (sa.JSON, "json"), (sa.String, "str"),
    ]
    for kind, tag in checks:
        if isinstance(column_type, kind):
            return tag
    return "str"


def _iso(value: Any) -> str:
    return value.isoformat()


def _b64(value: bytes) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _decimal(value: Any) -> str:
    return str(value)


def _same(value: Any) -> Any:
    return value


# The json tag's value is already the document's text (the dump reads it as text).
ENCODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": _iso, "date": _iso, "time": _iso, "bytes": _b64, "decimal": _decimal,
    "int": _same, "float": _same, "bool": _same, "str": _same, "json": _same,
}
DECODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.fromisoformat, "date": date.fromisoformat, "time": time.fromisoformat,
    "bytes": base64.b64decode, "decimal": Decimal, "int": _same, "float": _same, "bool": bool, "str": _same,
    "json": _same,
}


def row_encoder(tags: list[str]) -> Callable[[Any], bytes]:
    """A function turning one result row into its archive line (bytes, newline-terminated)."""
    # Only the columns whose values JSON cannot take as they are get a conversion (speed: 1,000,000 rows).
    convert = [(i, ENCODERS[tag]) for i, tag in enumerate(tags) if ENCODERS[tag] is not _same]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def encode(row: Any) -> bytes:
        values = list(row)
        for i, enc in convert:
            if values[i] is not None:
                values[i] = enc(values[i])
        return (dumps(values) + "\n").encode()

    return encode


def row_decoder(tags: list[str]) -> Callable[[list[Any]], list[Any]]:
    """A function turning one decoded archive line back into Python values for an insert (in place)."""
    convert = [(i, DECODERS[tag]) for i, tag in enumerate(tags) if DECODERS[tag] is not _same]

    def decode(values: list[Any]) -> list[Any]:
        if len(values) != len(tags):
            raise BackupError(f"a row has {len(values)} values for {len(tags)} columns")
        for i, dec in convert:
            if values[i] is not None:
                values[i] = dec(values[i])
        return values

    return decode


class HashingWriter:
    """Writes to a zip member while counting its bytes and computing its SHA-256."""

    def __init__(self, member: IO[bytes]) -> None:
        self.member = member
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        """Write bytes to the member."""
        self.sha.update(data)
        self.size += len(data)
        self.member.write(data)


@dataclass
class Member:
    """One member of an opened, checked archive."""

    name: str
    size: int
    sha256: str


class ArchiveReader:
    """An archive opened for restore: its manifest read and every member checked against it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError as exc:
            raise BackupError(f"{path}: no such file") from exc
        except (zipfile.BadZipFile, OSError) as exc:
            raise BackupError(f"{path}: not a sandbox backup, or the file is truncated or corrupted ({exc})") from exc
        try:
            self.manifest: dict[str, Any] = json.loads(self.zip.read(MANIFEST))
        except KeyError as exc:
            raise BackupError(f"{path}: no {MANIFEST}; not a sandbox backup") from exc
        except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError) as exc:
            raise BackupError(f"{path}: the manifest is corrupted ({exc})") from exc
        if self.manifest.get("format") != FORMAT:
            raise BackupError(f"{path}: not a sandbox backup (format {self.manifest.get('format')!r})")
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"{path}: archive format version {self.manifest.get('format_version')} "
                              f"is not {FORMAT_VERSION}; restore it with the sandbox version that wrote it")
        self._check_manifest()

    def _check_manifest(self) -> None:
        """Refuse a manifest missing what a restore reads, or naming an upload outside the upload folder."""
        try:
            str(self.manifest["revision"]), str(self.manifest["source_engine"]), dict(self.manifest["sequences"])
            for table in self.manifest["tables"]:
                str(table["name"]), int(table["rows"]), [(c["name"], ENCODERS[c["type"]]) for c in table["columns"]]
            for upload in self.manifest["uploads"]:
                relative = PurePosixPath(upload["path"])
                if relative.is_absolute() or ".." in relative.parts or "\\" in upload["path"]:
                    raise BackupError(f"{self.path}: upload {upload['path']!r} lies outside the upload folder; refused")
            self.members()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupError(f"{self.path}: the manifest is malformed ({exc!r}); the file is corrupted") from exc

    def members(self) -> list[Member]:
        """Every table and upload member the manifest lists."""
        listed = [Member(t["member"], t["size"], t["sha256"]) for t in self.manifest["tables"]]
        listed += [Member(u["member"], u["size"], u["sha256"]) for u in self.manifest["uploads"]]
        return listed

    def verify(self, progress: Callable[[str], None]) -> None:
        """Check that every member is there with the size and SHA-256 the manifest gives (else BackupError)."""
        progress("checking the archive's checksums")
        for member in self.members():
            sha = hashlib.sha256()
            size = 0
            try:
                with self.zip.open(member.name) as stream:
                    while chunk := stream.read(CHUNK):
                        sha.update(chunk)
                        size += len(chunk)
            except KeyError as exc:
                raise BackupError(f"{self.path}: member {member.name} is missing; the file is truncated or "
                                  "corrupted") from exc
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
                # A flipped byte inside deflated data surfaces as zlib.error, not as a zip error.
                raise BackupError(f"{self.path}: member {member.name} cannot be read ({exc}); the file is "
                                  "truncated or corrupted") from exc
            if size != member.size or sha.hexdigest() != member.sha256:
                raise BackupError(f"{self.path}: checksum mismatch in {member.name}; the file is corrupted, "
                                  "nothing was restored")

    def rows(self, table: dict[str, Any]) -> Iterator[list[Any]]:
        """The rows of a table member, decoded, one at a time."""
        decode = row_decoder([c["type"] for c in table["columns"]])
        with self.zip.open(table["member"]) as stream:
            for line in stream:
                yield decode(json.loads(line))

    def open_upload(self, upload: dict[str, Any]) -> IO[bytes]:
        """The bytes of an upload member."""
        return self.zip.open(upload["member"])

    def close(self) -> None:
        """Close the zip file."""
        self.zip.close()
