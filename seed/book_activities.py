"""A student's activities: past calls, meetings, visits and demos, upcoming events, and tasks."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .odds import DURATION, RELATED_WEIGHTS, UTC_OFFSET

if TYPE_CHECKING:
    from .book import Book


def _targets(book: Book) -> list[tuple[str, list[tuple[str, dict[str, str], str | None]]]]:
    """Per related type: (key, words for the subject, where a visit happens) of each record."""
    accounts = [(a.key, {"account": a.firm.short, "contact": a.contact_name(), "opportunity": a.firm.short}, a.address)
                for a in book.accounts]
    contacts = [(ck, {"account": a.firm.short, "contact": name, "opportunity": a.firm.short}, a.address)
                for a in book.accounts for ck, name in a.contacts]
    opportunities = [(k, {"account": a.firm.short, "contact": a.contact_name(), "opportunity": name}, a.address)
                     for k, name, a in book.opportunities]
    leads = [(k, {"account": company, "contact": name, "opportunity": company}, None) for k, name, company in book.leads]
    return [("lead", leads), ("account", accounts), ("contact", contacts), ("opportunity", opportunities)]


def _upcoming(book: Book) -> datetime:
    """An office-hours time in the next two weeks."""
    day = book.s.now.date() + timedelta(days=book.rng.int(1, 14))
    hour = (book.rng.int(9, 16) - UTC_OFFSET[book.s.scenario.language]) % 24
    return datetime(day.year, day.month, day.day, hour, book.rng.choice((0, 15, 30, 45)))


def _event(book: Book, row: dict[str, Any], words: dict[str, str], where: str | None) -> None:
    rng, vocab = book.rng, book.vocab
    kind = book.pick("event_type") or "call"
    start = book.past(60) if kind == "call" or rng.random() < 0.8 else _upcoming(book)
    low, high = DURATION.get(kind, (30, 60))
    end = start + timedelta(minutes=rng.int(low, high))
    created = min(end + timedelta(minutes=rng.int(1, 90)), book.s.now - timedelta(minutes=1)) \
        if start < book.s.now else book.past(10)
    row.update(book.owned(row["key"], created))
    subjects = vocab.ACTIVITY_SUBJECTS.get(kind, vocab.ACTIVITY_SUBJECTS["call"])
    location = {"visit": where or words["account"], "call": None}.get(kind, rng.choice(vocab.MEETING_PLACES))
    row.update(kind="event", subject=rng.choice(subjects).format(**words)[:200], due_date=None, status=None,
               priority=None, event_type=kind, start_at=start, end_at=end, location=location,
               attendees=None if kind == "call" else words["contact"])


def _task(book: Book, row: dict[str, Any], words: dict[str, str]) -> None:
    rng, today = book.rng, book.s.now.date()
    status = book.pick("task_status")
    if status == "completed":
        due = today - timedelta(days=rng.int(1, 60))
    elif status == "deferred":
        due = today + timedelta(days=rng.int(7, 45))
    else:
        due = today + timedelta(days=rng.int(-5, 21))
    created = book.past(min(90, max(1, (today - due).days + 14)), max(0, (today - due).days + 1))
    row.update(book.owned(row["key"], created))
    row.update(kind="task", subject=rng.choice(book.vocab.ACTIVITY_SUBJECTS["task"]).format(**words)[:200],
               due_date=due, status=status, priority=book.pick("priority"), event_type=None, start_at=None,
               end_at=None, location=None, attendees=None)


def add_activities(book: Book) -> None:
    """Append the student's activities, each about one of their leads, accounts, contacts or opportunities."""
    rng = book.rng
    targets = [(t, records) for t, records in _targets(book) if records]
    weights = list(itertools.accumulate(RELATED_WEIGHTS[t] for t, _r in targets))
    for n in range(1, book.volumes.activities + 1):
        row: dict[str, Any] = {"key": f"activity:{book.username}:{n}"}
        related_type, related_ref, words, where = None, None, {"account": "", "contact": "", "opportunity": ""}, None
        if targets:
            related_type, records = rng.weighted(targets, weights)
            related_ref, words, where = rng.choice(records)
        product, category = book.product_words(book.market())
        words = {**words, "product": product or category}
        if rng.random() < 0.6:
            _event(book, row, words, where)
        else:
            _task(book, row, words)
        row.update(description=None, related_type=related_type, related_ref=related_ref)
        book.rows["activities"].append(row)
