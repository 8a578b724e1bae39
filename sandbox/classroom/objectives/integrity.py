"""Integrity hints for a person to review: bursts faster than a person clicks, the same free text from
several students, and values a student wrote that exist only in another student's generated book.

Hints, not verdicts: a class may be told to write the same sentence, records may be shared on purpose,
and a fast burst may be a double-submitted form. The wording on the page says so.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from babel.lists import format_list
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from ...extensions import db
from ...i18n import N_
from ...oplog import LogEntry
from ...org.models import User
from ...records.models import Note
from .book_values import book_values

if TYPE_CHECKING:
    from ..activity.class_log import ClassLog

# A burst: BURST_MIN or more actions in a row, each less than BURST_GAP after the previous one. A person
# filling a form needs seconds; even one-click buttons take a second between page loads.
BURST_GAP = timedelta(seconds=1)
BURST_MIN = 5
# Undo and redo: this many take-backs by one student (a value set back, a row added then removed, a record
# created then deleted, a deal moved back) are worth a look; one or two are ordinary corrections.
UNDO_MIN = 3
# Verb pairs where the second takes the first back on the same record.
TAKE_BACKS = {"opportunity.remove_line": "opportunity.add_line",
              "opportunity.remove_contact_role": "opportunity.add_contact_role",
              "opportunity.remove_competitor": "opportunity.add_competitor",
              "opportunity.remove_partner": "opportunity.add_partner", "note.delete": "note.create",
              "attachment.delete": "attachment.upload"}
# Free text shorter than this ("Call back", "OK") is too likely to coincide by chance.
TEXT_MIN = 20
# A value found in this many books or more is common vocabulary (a frequent name, a template sentence).
COMMON_BOOKS = 3

FREE_TEXT_FIELDS = frozenset({"description", "subject", "strengths", "weaknesses", "body", "result", "reply",
                              "solution", "content", "comment"})
# A written field -> the kind of value compared with the generated books (a record's name depends on its type).
VALUE_FIELDS = {"company": "company", "phone": "phone", "mobile": "phone", "fax": "phone", "email": "email",
                "website": "website", "description": "text"}
NAME_KINDS = {"lead": "person", "contact": "person", "account": "company", "opportunity": "deal"}
KIND_LABELS = {"company": N_("company name"), "person": N_("person's name"), "phone": N_("phone number"),
               "email": N_("email address"), "website": N_("website"), "text": N_("description"),
               "deal": N_("opportunity name")}


@dataclass
class Evidence:
    """One log entry behind a hint, with the value it wrote when that matters (`entry` is loaded last)."""

    entry_id: int
    student: User
    value: str | None = None
    entry: LogEntry | None = None


@dataclass
class Hint:
    """Something worth a look: its kind, the students it names, the entries behind it."""

    kind: str  # burst | same_text | foreign_value | undo_redo
    students: list[User]
    evidence: list[Evidence] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def at(self) -> datetime:
        """When the earliest piece of evidence happened."""
        return min(e.entry.at for e in self.evidence if e.entry is not None)

    @property
    def explanation(self) -> str:
        """A short, neutral explanation in the current language."""
        p = self.params
        if self.kind == "burst":
            return _("%(name)s made %(count)d changes in %(seconds)s seconds, each less than a second after the "
                     "previous one: faster than a person usually clicks. It may be a script, several tabs or a form "
                     "sent twice; worth a look, not proof of anything.",
                     name=self.students[0].display_name, count=p["count"], seconds=p["seconds"])
        if self.kind == "undo_redo":
            return ngettext("%(name)s took back %(count)d of their own changes on %(num)d record (a value set "
                            "back, a row added and removed, a record created and deleted, a deal moved back). Undone "
                            "work earns no points; a pattern like this may be an attempt to collect them, or honest "
                            "corrections.",
                            "%(name)s took back %(count)d of their own changes on %(num)d records (a value set "
                            "back, a row added and removed, a record created and deleted, a deal moved back). Undone "
                            "work earns no points; a pattern like this may be an attempt to collect them, or honest "
                            "corrections.",
                            p["records"], name=self.students[0].display_name, count=p["count"])
        if self.kind == "same_text":
            return _("%(names)s wrote the same text of %(length)d characters. They may have worked together or been "
                     "given the sentence; compare the entries before drawing any conclusion.",
                     names=_names(self.students), length=p["length"])
        written = _list([_("%(what)s “%(value)s”", what=_(KIND_LABELS[kind]), value=value) for kind, value in p["values"]])
        return _("%(name)s wrote %(values)s, found in the generated data of %(owners)s but not in their own. It may "
                 "have been copied from a classmate's records, or seen through legitimate sharing; check the entries.",
                 name=self.students[0].display_name, values=written, owners=_names(self.students[1:]))


def _names(users: list[User]) -> str:
    return _list([u.display_name for u in users])


def _list(items: list[str]) -> str:
    """“a, b and c” in the current language."""
    try:
        return format_list(items, locale=get_locale() or "en")
    except (ValueError, AttributeError):
        return ", ".join(items)


_NOT_ASCII_DIGITS = re.compile(r"[^0-9]")


def normalise(kind: str, value: Any) -> str | None:
    """The comparable form of a value, or None when it is too short to mean anything."""
    if not isinstance(value, str):
        return None
    if kind == "phone":
        # An ASCII value's digits are exactly 0-9 (one regex pass instead of a generator per character).
        digits = (_NOT_ASCII_DIGITS.sub("", value) if value.isascii()
                  else "".join(ch for ch in value if ch.isdigit()))
        return digits[-11:] if len(digits) >= 7 else None  # the country code and separators vary in retyping
    text = " ".join(value.split()).casefold()
    if kind == "website":
        text = text.removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
    minimum = TEXT_MIN if kind == "text" else 4 if kind in ("email", "website") else 2
    return text if len(text) >= minimum else None


def find_hints(log: ClassLog) -> list[Hint]:
    """Every hint of the class log: values from another book first, then shared text, then bursts."""
    written = written_values(log)
    books = generated_books(log, written)
    found = (foreign_values(log, books, written) + same_texts(log, books, written) + undo_redo(log)
             + bursts(log))
    ids = {e.entry_id for h in found for e in h.evidence}
    entries = {e.id: e for e in db.session.scalars(
        select(LogEntry).where(LogEntry.id.in_(ids)).execution_options(skip_visibility=True))} if ids else {}
    for hint in found:
        for e in hint.evidence:
            e.entry = entries.get(e.entry_id)
        hint.evidence = [e for e in hint.evidence if e.entry is not None]
    order = {"foreign_value": 0, "same_text": 1, "undo_redo": 2, "burst": 3}
    return sorted((h for h in found if h.evidence), key=lambda h: (order[h.kind], h.at))


def bursts(log: ClassLog) -> list[Hint]:
    """Runs of BURST_MIN+ actions of one student, each less than BURST_GAP after the previous."""
    hints = []

    def close(sid: int, streak: list[Any]) -> None:
        if len(streak) >= BURST_MIN:
            student = log.students[sid]
            seconds = (streak[-1].at - streak[0].at).total_seconds()
            hints.append(Hint("burst", [student], [Evidence(i, student) for a in streak for i in a.entry_ids],
                              {"count": len(streak), "seconds": f"{seconds:.1f}"}))

    for sid, actions in log.actions.items():
        streak: list[Any] = []
        for action in actions:
            if streak and action.at - streak[-1].at >= BURST_GAP:
                close(sid, streak)
                streak = []
            streak.append(action)
        close(sid, streak)
    return hints


def undo_redo(log: ClassLog) -> list[Hint]:
    """Students who took back UNDO_MIN+ of their own changes: a field set back to an earlier value of the same
    record, a child row or note removed after they added one, a record deleted after they created it."""
    hints = []
    by_student: dict[int, list[Any]] = defaultdict(list)
    for row in log.rows:
        by_student[row.actor_id].append(row)
    for sid, rows in by_student.items():
        seen: dict[tuple[Any, ...], list[Any]] = defaultdict(list)  # (record, field) -> values it had, in order
        done: dict[tuple[Any, ...], int] = defaultdict(int)  # (record, verb) -> times done, not yet taken back
        backs: list[int] = []
        records: set[tuple[Any, Any]] = set()
        for row in rows:
            record = (row.object_type, row.object_id)
            noun, _dot, verb = (row.verb or "").partition(".")
            taken = TAKE_BACKS.get(row.verb)
            if taken and done[(*record, taken)] > 0:
                done[(*record, taken)] -= 1
                backs.append(row.id)
                records.add(record)
                continue
            if verb == "delete" and done[(*record, f"{noun}.create")] > 0:
                backs.append(row.id)
                records.add(record)
                continue
            done[(*record, row.verb)] += 1
            changes = row.changes if isinstance(row.changes, dict) else {}
            for name, pair in (changes.get("fields") or {}).items():
                if not isinstance(pair, list | tuple) or len(pair) != 2 or name in ("updated_at", "version"):
                    continue
                history = seen[(*record, name)]
                if not history:
                    history.append(pair[0])
                elif pair[1] in history[:-1]:
                    backs.append(row.id)
                    records.add(record)
                history.append(pair[1])
        if len(backs) >= UNDO_MIN:
            student = log.students[sid]
            hints.append(Hint("undo_redo", [student], [Evidence(i, student) for i in dict.fromkeys(backs)][:50],
                              {"count": len(backs), "records": len(records)}))
    return hints


def written_values(log: ClassLog) -> list[tuple[Any, str, str, str]]:
    """(row, kind, raw value, normalised value) of every field value and note the students wrote."""
    out = []
    note_rows: dict[int, Any] = {}
    for row in log.rows:
        changes = row.changes if isinstance(row.changes, dict) else {}
        for name, pair in (changes.get("fields") or {}).items():
            after = pair[1] if isinstance(pair, list | tuple) and len(pair) == 2 else None
            kinds = {NAME_KINDS.get(row.object_type)} if name == "name" else {VALUE_FIELDS.get(name)}
            if name in FREE_TEXT_FIELDS:
                kinds.add("text")
            for kind in kinds - {None}:
                if (key := normalise(kind, after)) is not None:
                    out.append((row, kind, after, key))
        for rel in changes.get("related") or []:
            if isinstance(rel, dict) and rel.get("type") == "note" and rel.get("action") == "create" and rel.get("id"):
                note_rows[rel["id"]] = row
    if note_rows:
        for note_id, body in db.session.execute(select(Note.id, Note.body).where(Note.id.in_(list(note_rows)))):
            if (key := normalise("text", body)) is not None:
                out.append((note_rows[note_id], "text", body, key))
    return out


@dataclass
class Books:
    """The class's generated books: who holds each value, and whose book each generated record is."""

    values: dict[str, dict[str, set[int]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    records: dict[tuple[str, int], int] = field(default_factory=dict)  # (record type, id) -> owner

    def holders(self, kind: str, key: str) -> set[int]:
        """Students whose records carry this value of this kind."""
        return self.values.get(kind, {}).get(key, set())


def generated_books(log: ClassLog, written: list[tuple[Any, str, str, str]] | None = None) -> Books:
    """Every student's generated records (made before their run began), for the whole class.

    Given the values the students wrote (`written_values`), only what the hints ask of the books is kept:
    the holders of those values and the owners of the records the log acted on. The books' normalised values are
    kept per worker and read again only for the records that changed (book_values.py).
    """
    books = Books()
    if not log.students or written == []:
        return books  # no written value: foreign values and shared texts have nothing to compare
    wanted, acted = _asked(log, written)
    starts = {sid: log.starts[sid] for sid in log.students}
    values, records = book_values(log.class_run.class_id, starts, normalise, wanted, acted if wanted is not None else None)
    for kind, keys in values.items():
        for key, holders in keys.items():
            books.values[kind][key] = holders
    books.records = records
    return books


def _asked(log: ClassLog, written: list[tuple[Any, str, str, str]] | None
           ) -> tuple[dict[str, set[str]] | None, dict[str, set[int]]]:
    """(kind -> the written keys, record type -> ids the log acted on); None: everything is asked for."""
    acted: dict[str, set[int]] = defaultdict(set)
    if written is None:
        return None, acted
    wanted: dict[str, set[str]] = defaultdict(set)
    for _row, kind, _raw, key in written:
        wanted[kind].add(key)
    for row in log.rows:
        if row.object_type and row.object_id is not None:
            acted[row.object_type].add(row.object_id)
    return wanted, acted


def _books_opened(log: ClassLog, books: Books) -> dict[Any, set[int]]:
    """Request (or lone entry) -> owners of the generated records it acted on.

    A value carried from a record the student was allowed to act on (a manager converting a subordinate's
    lead writes that lead's company into the new account) is not a copy.
    """
    opened: dict[Any, set[int]] = defaultdict(set)
    for row in log.rows:
        owner = books.records.get((row.object_type, row.object_id))
        if owner is not None:
            opened[row.request_id or ("entry", row.id)].add(owner)
    return opened


def foreign_values(log: ClassLog, books: Books, written: list[tuple[Any, str, str, str]] | None = None) -> list[Hint]:
    """A student wrote distinctive values of another student's book that their own book lacks (one hint per pair)."""
    values: dict[tuple[int, frozenset[int]], dict[tuple[str, str], str]] = defaultdict(dict)
    evidence: dict[tuple[int, frozenset[int]], dict[int, Evidence]] = defaultdict(dict)
    opened = _books_opened(log, books)
    for row, kind, value, key in written_values(log) if written is None else written:
        owners = books.holders(kind, key)
        if not owners or row.actor_id in owners or len(owners) >= COMMON_BOOKS:
            continue
        if owners & opened.get(row.request_id or ("entry", row.id), set()):
            continue
        pair = (row.actor_id, frozenset(owners))
        values[pair].setdefault((kind, key), value)
        found = evidence[pair].get(row.id)
        if found is None:
            evidence[pair][row.id] = Evidence(row.id, log.students[row.actor_id], value)
        elif value not in (found.value or "").split("; "):
            found.value = f"{found.value}; {value}"
    hints = []
    for (sid, owner_ids), written in values.items():
        owners = sorted((log.students[o] for o in owner_ids), key=lambda u: u.display_name)
        listed = [(kind, _short(raw)) for (kind, _key), raw in written.items()]
        hints.append(Hint("foreign_value", [log.students[sid], *owners], list(evidence[(sid, owner_ids)].values()),
                          {"values": listed}))
    return hints


def same_texts(log: ClassLog, books: Books, written: list[tuple[Any, str, str, str]] | None = None) -> list[Hint]:
    """The same free text (TEXT_MIN+ characters, not from any generated book) written by two or more students."""
    writers: dict[str, list[Evidence]] = defaultdict(list)
    generated = books.values.get("text", {})
    for row, kind, value, key in written_values(log) if written is None else written:
        if kind != "text" or key in generated:
            continue  # text copied along from the data (a converted lead's description) is nobody's writing
        if all(e.entry_id != row.id for e in writers[key]):
            writers[key].append(Evidence(row.id, log.students[row.actor_id], value))
    hints = []
    for key, evidence in writers.items():
        students = {e.student.id: e.student for e in evidence}
        if len(students) >= 2:
            hints.append(Hint("same_text", sorted(students.values(), key=lambda u: u.display_name), evidence,
                              {"length": len(key), "value": _short(evidence[0].value or "")}))
    return hints


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
