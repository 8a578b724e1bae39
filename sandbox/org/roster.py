"""Roster CSV: decode (UTF-8, UTF-8 with BOM, GBK), check every row, import all or nothing."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..auth.passwords import generate_password
from ..auth.usernames import username_is
from ..extensions import db
from ..oplog import current_op, operation
from .models import Position, Role, User
from .services import OrgError, create_user, give_late_books

# Accepted headers, English or Chinese, mapped to field names.
HEADERS = {
    "username": "username", "用户名": "username", "账号": "username",
    "name": "name", "display_name": "name", "姓名": "name",
    "student_number": "student_number", "学号": "student_number",
    "email": "email", "邮箱": "email", "电子邮件": "email",
    "department": "department", "部门": "department",
}
REQUIRED = ("username", "name", "department")
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_ROWS = 2000


@dataclass
class RosterRow:
    """One student row of a roster file, with the position the student will take."""
    line: int
    username: str
    name: str
    student_number: str | None
    email: str | None
    department: str
    position: Position | None = None


@dataclass
class RosterCheck:
    """The rows of a roster that passed and the problems of those that did not."""
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message); line 0: whole file


def decode(data: bytes) -> str:
    """Text of an uploaded CSV: UTF-8 (with or without BOM), else GBK (Excel on Chinese Windows)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise OrgError(_("The file is neither UTF-8 nor GBK text. Save it from Excel as “CSV UTF-8”."), "file")


def _salesperson_positions(klass: Position) -> dict[str, Position]:
    """Department name -> the position a new student of that department takes."""
    nodes = list(db.session.scalars(select(Position).where(Position.path.startswith(klass.path)).order_by(Position.path)))
    result: dict[str, Position] = {}
    for dept in (n for n in nodes if n.kind == "department"):
        children = [n for n in nodes if n.parent_id == dept.id and n.kind == "position"]
        result[dept.name.strip().lower()] = children[0] if children else dept
    return result


def _email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None


def check_roster(data: bytes, klass: Position) -> RosterCheck:
    """Parse and check every row; nothing is written."""
    result = RosterCheck()
    try:
        text = decode(data)
    except OrgError as exc:
        result.errors.append((0, exc.message))
        return result
    reader = csv.reader(io.StringIO(text))
    names = _header(reader, result)
    if names is None:
        return result
    try:
        _check_rows(reader, names, klass, result)
    except csv.Error as exc:
        result.errors.append((0, _("The file is not valid CSV: %(e)s", e=str(exc))))
    if not result.rows and not result.errors:
        result.errors.append((0, _("The file has a header but no students.")))
    return result


def _header(reader: Any, result: RosterCheck) -> list[str | None] | None:
    """The field name of each column, or None after noting why the header is unusable."""
    try:
        header = next(reader)
    except StopIteration:
        result.errors.append((0, _("The file is empty.")))
        return None
    except csv.Error as exc:
        result.errors.append((0, _("The file is not valid CSV: %(e)s", e=str(exc))))
        return None
    names = [HEADERS.get(h.strip().lower()) for h in header]
    unknown = [h for h, n in zip(header, names, strict=True) if n is None and h.strip()]
    missing = [r for r in REQUIRED if r not in names]
    if unknown or missing:
        result.errors.append((1, _(
            "Columns must be username, name, student_number, email, department. Unknown: %(u)s; missing: %(m)s.",
            u=", ".join(unknown) or "—", m=", ".join(missing) or "—")))
        return None
    return names


@dataclass
class _Seen:
    """What earlier rows of the file already claimed: username and email -> first line."""

    usernames: dict[str, int] = field(default_factory=dict)
    emails: dict[str, int] = field(default_factory=dict)


def _check_rows(reader: Any, names: list[str | None], klass: Position, result: RosterCheck) -> None:
    """Check each data row (blank rows skipped, at most MAX_ROWS) into `result`."""
    positions = _salesperson_positions(klass)
    seen = _Seen()
    for line, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if len(result.rows) + len(result.errors) >= MAX_ROWS:
            result.errors.append((line, _("At most %(n)d rows per file.", n=MAX_ROWS)))
            break
        values = {n: (raw[i].strip() if i < len(raw) else "") for i, n in enumerate(names) if n}
        row = RosterRow(line, values["username"], values["name"], values.get("student_number") or None,
                        (values.get("email") or "").lower() or None, values["department"])
        row.position = positions.get(row.department.lower())
        problems = _row_problems(row, seen, klass)
        seen.usernames.setdefault(row.username.lower(), line)
        if row.email:
            seen.emails.setdefault(row.email, line)
        if problems:
            result.errors.append((line, "; ".join(problems)))
        else:
            result.rows.append(row)


def _row_problems(row: RosterRow, seen: _Seen, klass: Position) -> list[str]:
    """Everything wrong with one row: username, name, email and department."""
    problems = []
    if not USERNAME.match(row.username):
        problems.append(_("username “%(u)s” must be 3–64 letters, digits, dots, dashes or underscores", u=row.username))
    elif row.username.lower() in seen.usernames:
        problems.append(_("username %(u)s repeats line %(l)d", u=row.username, l=seen.usernames[row.username.lower()]))
    elif db.session.scalar(select(User.id).where(username_is(row.username))):
        problems.append(_("username %(u)s is taken", u=row.username))
    if not row.name:
        problems.append(_("name is empty"))
    if row.email and not EMAIL.match(row.email):
        problems.append(_("email “%(e)s” is not an address", e=row.email))
    elif row.email and (row.email in seen.emails or _email_taken(row.email)):
        problems.append(_("email %(e)s is already used", e=row.email))
    if row.position is None:
        problems.append(_("department “%(d)s” does not exist in %(c)s", d=row.department, c=klass.name))
    return problems


@operation("roster.import")
def import_roster(actor: User | None, klass: Position, check: RosterCheck) -> list[tuple[User, str]]:
    """Create approved accounts with generated passwords; refuses a file with any bad row."""
    if check.errors:
        raise OrgError(_("Fix the rows listed below; nothing was imported."), "file")
    created = []
    for row in check.rows:
        password = generate_password()
        user = create_user(
            actor, row.username, row.name, password, Role.STUDENT, row.position,
            email=row.email, student_number=row.student_number, must_change_password=True,
        )
        created.append((user, password))
    current_op().target(klass, count=len(created))
    # Late joiners: with a scenario running, every imported student gets their book in this same step.
    give_late_books(klass.id, [user for user, _password in created])
    return created
