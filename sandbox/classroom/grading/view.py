"""What the gradebook pages and exports share: reading the query string (class, run, department, sort) and
showing points, bilingual scenario text and links to the records and log entries that are evidence.

Bad query values never fail the page: each becomes a message and the default is used instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from pypinyin import lazy_pinyin
from sqlalchemy import select

from ...extensions import db
from ...org.models import Position, PositionKind, Role, User
from ..models import Run
from ..permissions import class_or_404, readable_classes
from ..runs.books import students_without_book
from ..runs.lookup import class_runs, class_students, current_class_run, department_of
from .gradebook import Gradebook, Row, gradebook

SORTS = ("name", "total", "department")


@dataclass
class BookQuery:
    """The gradebook as asked for by the query string, after every value was checked."""

    klass: Position | None
    classes: list[Position]
    runs: list[Run] = field(default_factory=list)
    run: Run | None = None
    departments: list[Position] = field(default_factory=list)
    department: Position | None = None
    sort: str = "name"
    desc: bool = False
    problems: list[str] = field(default_factory=list)
    # The class's run in force, as read_query read it (`in_force_read`): load_book reads it only if not.
    in_force: Run | None = None
    in_force_read: bool = False

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query string of this view (for links that change one thing, e.g. the sort)."""
        args: dict[str, Any] = {"class_id": self.klass.id if self.klass else None, "run": self.run.id if self.run else None,
                                "department": self.department.id if self.department else None,
                                "sort": self.sort if self.sort != "name" else None, "desc": 1 if self.desc else None}
        args.update(changes)
        return {k: v for k, v in args.items() if v is not None}


def zh() -> bool:
    """Is the UI in Chinese (scenario texts are written in both languages)?"""
    return str(get_locale() or "").startswith("zh")


def pick(text: Any) -> str:
    """The zh or en side of a scenario's Bilingual text, by the UI language ('' for None)."""
    if text is None:
        return ""
    return text.zh if zh() else text.en


def format_points(value: Decimal | int | float | None) -> str:
    """Points without needless decimals: 10, 7.5, 3.33."""
    if value is None:
        return ""
    number = Decimal(str(value)).quantize(Decimal("0.01"))
    if number == number.to_integral_value():
        return str(int(number))
    return f"{number.normalize():f}"


def percent(part: Decimal | int, whole: Decimal | int) -> int:
    """A whole percentage, 0 when there is nothing to score."""
    return int(round(Decimal(part) * 100 / Decimal(whole))) if whole else 0


def bar_step(pct: int) -> int:
    """The percentage rounded to the 5 % steps that grading.css has width classes for (the CSP forbids style=)."""
    return max(0, min(100, int(round(pct / 5)) * 5))


def class_departments(klass: Position) -> list[Position]:
    """The departments of a class, in tree order."""
    return list(db.session.scalars(select(Position).where(
        Position.class_id == klass.id, Position.kind == PositionKind.DEPARTMENT).order_by(Position.path)))


def _int(raw: str | None) -> int | None:
    try:
        return int(raw.strip()) if raw is not None and raw.strip() else None
    except ValueError:
        return None


_UNREAD: Any = object()


def pick_run(runs: list[Run], raw: str | None, class_id: int, problems: list[str],
             in_force: Run | None = _UNREAD) -> Run | None:
    """The class run asked for (`run` = its id), else the one in force (`in_force`, when the caller has read
    `current_class_run`), else the newest."""
    if raw is not None and raw.strip():
        wanted = {r.id: r for r in runs}.get(_int(raw) or 0)
        if wanted is not None:
            return wanted
        problems.append(_("This class has no scenario run “%(value)s”; showing the current one.", value=raw[:40]))
    if in_force is _UNREAD:
        in_force = current_class_run(class_id)
    return in_force or (runs[0] if runs else None)


def read_query(args: Mapping[str, str]) -> BookQuery:
    """Class (404 if not readable), run, department and sort from the query string; bad values → messages."""
    problems: list[str] = []
    raw_class = args.get("class_id", "").strip()
    klass = None
    if raw_class:
        class_id = _int(raw_class)
        if class_id is None:
            problems.append(_("“%(value)s” is not a class; showing your first class.", value=raw_class[:40]))
        else:
            klass = class_or_404(class_id)
    classes = readable_classes(current_user)
    klass = klass or (classes[0] if classes else None)  # default_class(), from the classes just read
    query = BookQuery(klass, classes, problems=problems)
    if klass is None:
        return query
    query.runs = class_runs(klass.id)
    query.in_force, query.in_force_read = current_class_run(klass.id), True
    query.run = pick_run(query.runs, args.get("run"), klass.id, problems, query.in_force)
    query.departments = class_departments(klass)
    raw_dept = args.get("department", "").strip()
    if raw_dept:
        query.department = {d.id: d for d in query.departments}.get(_int(raw_dept) or 0)
        if query.department is None:
            problems.append(_("This class has no department “%(value)s”; showing every student.", value=raw_dept[:40]))
    sort = args.get("sort", "").strip() or "name"
    objective_ids = {o.id for o in query.run.scenario.objectives} if query.run else set()
    if sort not in SORTS and sort not in objective_ids:
        problems.append(_("Cannot sort by “%(value)s”; sorted by name.", value=sort[:40]))
        sort = "name"
    query.sort = sort
    query.desc = args.get("desc", "").strip().lower() in ("1", "true", "yes", "on")
    return query


def load_book(query: BookQuery) -> Gradebook | None:
    """The gradebook of the query's run: the department's students only, sorted as asked."""
    if query.klass is None or query.run is None:
        return None
    students = class_students(query.klass.id)
    if query.department is not None:
        students = [s for s in students if (dept := department_of(s)) is not None and dept.id == query.department.id]
    current = query.in_force if query.in_force_read else current_class_run(query.klass.id)
    live = current is not None and current.id == query.run.id
    book = gradebook(query.run, students, live=live)
    book.rows = sort_rows(book.rows, query.sort, query.desc)
    if live:
        # Only the run in force: an older run's books were replaced by the resets that followed it.
        # Each row's counting run is its student's re-run, if any (`student_runs`, read by the gradebook).
        reruns = {r.student.id: r.run_id for r in book.rows if r.run_id != book.class_run.id}
        book.without_book = students_without_book(query.run, [s.id for s in students], reruns)
    return book


_DIGITS = re.compile(r"(\d+)")


def roster_key(student: User) -> tuple[Any, ...]:
    """Student number first (numbers in numeric order, students without one last), then the name in pinyin
    order (英文 names sort as they are), then the username."""
    number = (student.student_number or "").strip()
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in _DIGITS.split(number) if p)
    name = "".join(lazy_pinyin(student.display_name or "")).casefold()
    return (not number, parts, name, student.username.casefold())


def sort_rows(rows: list[Row], sort: str, desc: bool) -> list[Row]:
    """Rows by student number and name, total, department or one objective's points; ties by student number and name."""
    rows = sorted(rows, key=lambda r: roster_key(r.student))
    if sort == "name":
        return list(reversed(rows)) if desc else rows
    if sort == "total":
        key: Any = lambda r: r.total  # noqa: E731
    elif sort == "department":
        key = lambda r: (r.department is None, r.department.path if r.department else "")  # noqa: E731
    else:
        key = lambda r: r.cells[sort].points if sort in r.cells else Decimal(0)  # noqa: E731
    return sorted(rows, key=key, reverse=desc)


def is_reader_only() -> bool:
    """Students have no gradebook pages (they read /me/progress)."""
    return current_user.role == Role.STUDENT


def _blueprint(record_type: str | None) -> str | None:
    """The blueprint serving a business record type's pages (lead → leads, opportunity → opportunities)."""
    if not record_type:
        return None
    views = current_app.view_functions
    for name in (record_type, f"{record_type}s", f"{record_type[:-1]}ies" if record_type.endswith("y") else ""):
        if name and f"{name}.detail" in views:
            return name
    return None


def record_url(record_type: str | None, record_id: int | None) -> str | None:
    """The detail page of a business record (lead → /leads/<id>), or None for other objects."""
    name = _blueprint(record_type)
    return url_for(f"{name}.detail", record_id=record_id) if name and record_id is not None else None


def attachment_url(doc: Any) -> str | None:
    """Download link of an attachment shown as evidence (deleted ones stay downloadable for instructors)."""
    name = _blueprint(doc.parent_type)
    if name is None or f"{name}.download_attachment" not in current_app.view_functions:
        return None
    return url_for(f"{name}.download_attachment", record_id=doc.parent_id, attachment_id=doc.ident)


def entry_url(entry: Any, student_id: int) -> str:
    """Where a log entry of evidence leads: its record, else the operation log filtered to the student and verb."""
    return record_url(entry.object_type, entry.object_id) or url_for("log.index", actor=student_id, verb=entry.verb)


_ITEM = re.compile(r"^\s*(\d+[.)]\s+|\d+、|[-*•·]\s+)")


def _cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f"


def paragraphs(text: str) -> list[list[str]]:
    """A scenario text (YAML, hard-wrapped) as paragraphs of lines: wrapped lines joined, list items kept apart."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines: list[str] = []
        for raw in block.splitlines():
            line = raw.strip()
            if not line:
                continue
            if lines and not _ITEM.match(line):
                # Chinese runs on without a space; other languages get one.
                glue = "" if _cjk(lines[-1][-1]) or _cjk(line[0]) else " "
                lines[-1] = f"{lines[-1]}{glue}{line}"
            else:
                lines.append(line)
        if lines:
            out.append(lines)
    return out


def state(points: Decimal, maximum: int) -> str:
    """done, partial or todo: how a cell or checklist item is drawn."""
    if points >= maximum:
        return "done"
    return "partial" if points > 0 else "todo"


# Functions the grading templates call (passed to render_template, not installed app-wide).
TEMPLATE_HELPERS = {"pick": pick, "points": format_points, "percent": percent, "bar_step": bar_step, "state": state,
                    "record_url": record_url, "entry_url": entry_url, "attachment_url": attachment_url,
                    "paragraphs": paragraphs}
