"""THE operation log: the @operation decorator, the before_flush guard and the entry model.

Only service functions change data. Each is decorated with `@operation("noun.verb")`; the decorator
collects the field-level changes of every audited object the service touches (in `before_flush`, the
only moment SQLAlchemy still knows the old values) and appends one entry in the same transaction.
A change to an audited model outside an operation raises, so a forgotten log fails loudly.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from flask import g, has_request_context, request
from sqlalchemy import JSON, Boolean, Index, String, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import db
from .i18n import N_
from .org.models import utcnow

P = ParamSpec("P")
R = TypeVar("R")

# verb -> readable summary template; "%(label)s" is the object's label, other keys come from params.
VERBS: dict[str, str] = {}


def register_verbs(verbs: dict[str, str]) -> None:
    """Let a feature declare the summaries of its verbs (strings marked with N_)."""
    VERBS.update(verbs)


class UnloggedChange(RuntimeError):
    """An audited model was changed outside an @operation service."""


class AppendOnly(RuntimeError):
    """Someone tried to edit or delete a log entry."""


class LogEntry(db.Model):
    """One operation, shaped like an xAPI statement: actor, verb, object, result, context."""

    __tablename__ = "log_entries"
    __table_args__ = (
        Index("ix_log_entries_class_at", "class_id", "at"),
        Index("ix_log_entries_actor_at", "actor_id", "at"),
        Index("ix_log_entries_run_actor_verb", "run_id", "actor_id", "verb"),
        Index("ix_log_entries_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column()
    actor_role: Mapped[str | None] = mapped_column(String(20))
    actor_label: Mapped[str | None] = mapped_column(String(200))
    verb: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column()
    object_label: Mapped[str | None] = mapped_column(String(300))
    changes: Mapped[dict | None] = mapped_column(JSON)
    params: Mapped[dict | None] = mapped_column(JSON)
    class_id: Mapped[int | None] = mapped_column()
    run_id: Mapped[int | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(40))
    as_teacher: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the change came from: "ui" (a person at a form or the CLI), "import" (a file); grading counts ui by default.
    source: Mapped[str | None] = mapped_column(String(16))

    @property
    def summary(self) -> str:
        """The readable summary in the current UI language, rendered now from the verb and params."""
        from .log.render import summary  # the renderer reads the registry of record types, built later

        return summary(self)


@dataclass
class _Change:
    obj: Any
    action: str  # create | update | delete
    fields: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class Op:
    """The operation in progress: what it touched, its target, extra params for the summary."""

    verb: str
    changes: dict[int, _Change] = field(default_factory=dict)
    target_obj: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    actor: Any = None
    class_id: int | None = None
    run_id: int | None = None
    source: str | None = None  # None: inherited from the enclosing operation, else "ui"
    written: bool = False

    def target(self, obj: Any, **params: Any) -> None:
        """Name the record this operation is about (defaults to the first one it touched)."""
        self.target_obj = obj
        self.params.update(params)


# Set by sandbox.classroom: (class_id, actor_id) -> the scenario run a new entry belongs to.
run_resolver: Callable[[int | None, int | None], int | None] | None = None

_stack: contextvars.ContextVar[tuple[Op, ...]] = contextvars.ContextVar("oplog_stack", default=())


def current_op() -> Op:
    """The innermost running operation; services call `current_op().target(obj)`."""
    stack = _stack.get()
    if not stack:
        raise UnloggedChange("current_op() called outside an @operation service")
    return stack[-1]


def operation(verb: str | Callable[..., str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make a service function an operation: its changes and one log entry land in one transaction.

    `verb` is "noun.verb", or a callable given the service's arguments (generic record services
    name the verb after the record type they were called with).
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            op = Op(verb(*args, **kwargs) if callable(verb) else verb)
            token = _stack.set((*_stack.get(), op))
            try:
                result = fn(*args, **kwargs)
                db.session.flush()
                _write_entry(op)
                db.session.flush()
            finally:
                _stack.reset(token)
            return result

        wrapper.__operation__ = verb  # type: ignore[attr-defined]
        return wrapper

    return decorate


def set_actor(user: Any) -> None:
    """Who acts for the rest of this request or CLI command (None: anonymous)."""
    g.oplog_actor = user


def current_actor() -> Any:
    """Who acts in this request or command (None: the system)."""
    return _actor()


def _actor() -> Any:
    try:
        return g.get("oplog_actor")
    except RuntimeError:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):  # a JSON column (a case's workflow fields) stays JSON in the entry
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def is_audited(obj: Any) -> bool:
    """Whether changes to this object must be written to the operation log."""
    return hasattr(type(obj), "__audit_type__")


def _collect(session: Session, op: Op) -> None:
    """Record field-level before/after of audited objects about to be flushed."""
    for action, objs in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            if not is_audited(obj):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            change = op.changes.get(id(obj))
            if change is None:
                change = op.changes[id(obj)] = _Change(obj, action)
            hidden = getattr(type(obj), "__audit_hidden__", frozenset())
            ignored = getattr(type(obj), "__audit_ignore__", frozenset())
            state = inspect(obj)
            for attr in state.mapper.column_attrs:
                hist = state.attrs[attr.key].history
                if action == "update" and not hist.has_changes():
                    continue
                if action == "create" and not hist.added:
                    continue
                before = hist.deleted[0] if hist.deleted else None
                after = hist.added[0] if hist.added else getattr(obj, attr.key, None)
                if action == "update" and attr.key in ("version", "updated_at"):
                    continue
                if attr.key in ignored:
                    continue
                if attr.key in hidden:
                    before, after = ("***" if before else None), "***"
                if attr.key in change.fields:
                    change.fields[attr.key][1] = _jsonable(after)
                else:
                    change.fields[attr.key] = [_jsonable(before), _jsonable(after)]


def _write_entry(op: Op) -> None:
    """Append the entry of a finished operation."""
    target = op.target_obj
    if target is None and op.changes:
        target = next(iter(op.changes.values())).obj
    actor = op.actor if op.actor is not None else _actor()
    main = op.changes.get(id(target)) if target is not None else None
    related = [
        {"type": c.obj.__audit_type__, "id": getattr(c.obj, "id", None), "action": c.action}
        for key, c in op.changes.items()
        if target is None or key != id(target)
    ]
    changes: dict[str, Any] | None = None
    if main is not None or related:
        changes = {"action": main.action if main else None, "fields": main.fields if main else {}}
        if related:
            changes["related"] = related
    class_id = op.class_id
    if class_id is None and target is not None:
        class_id = getattr(target, "class_id", None)
    if class_id is None and actor is not None:
        class_id = getattr(actor, "class_id", None)
    entry = LogEntry(
        verb=op.verb,
        actor_id=getattr(actor, "id", None),
        actor_role=getattr(actor, "role", None),
        actor_label=getattr(actor, "audit_label", None),
        object_type=getattr(type(target), "__audit_type__", None) if target is not None else None,
        object_id=getattr(target, "id", None),
        object_label=(getattr(target, "audit_label", None) or "")[:300] if target is not None else None,
        changes=changes,
        params={k: _jsonable(v) for k, v in op.params.items()} or None,
        class_id=class_id,
        run_id=op.run_id if op.run_id is not None else _run_id(class_id, getattr(actor, "id", None)),
        as_teacher=getattr(actor, "is_staff", False),
        source=_source(op),
    )
    if has_request_context():
        entry.ip = (request.remote_addr or "")[:64]
        entry.request_id = g.get("request_id") or uuid.uuid4().hex
    db.session.add(entry)
    op.written = True


def _source(op: Op) -> str:
    """The operation's own source, else the nearest enclosing one's (a create inside an import is an import)."""
    for outer in reversed((*_stack.get(), op)):
        if outer.source is not None:
            return outer.source
    return "ui"


def _run_id(class_id: int | None, actor_id: int | None) -> int | None:
    if not _has_g():
        return None
    if g.get("run_id") is not None:
        return g.run_id
    return run_resolver(class_id, actor_id) if run_resolver is not None and class_id is not None else None


def _has_g() -> bool:
    try:
        g.get("x")
    except RuntimeError:
        return False
    return True


@event.listens_for(Session, "before_flush")
def _guard(session: Session, flush_context: Any, instances: Any) -> None:
    """Collect changes for the running operation; refuse unlogged changes and edits of the log."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, LogEntry):
            raise AppendOnly("operation log entries are never edited or deleted")
    stack = _stack.get()
    if stack:
        _collect(session, stack[-1])
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if is_audited(obj) and (obj not in session.dirty or session.is_modified(obj)):
            raise UnloggedChange(
                f"{type(obj).__name__} changed outside an @operation service; "
                "call a service function instead"
            )


# Triggers that make the log append-only in the database itself (used by the migration and tests).
SQLITE_TRIGGERS = [
    """CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
       BEGIN SELECT RAISE(ABORT, 'operation log is append-only'); END""",
    """CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
       BEGIN SELECT RAISE(ABORT, 'operation log is append-only'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION log_entries_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'operation log is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER log_entries_no_update BEFORE UPDATE OR DELETE ON log_entries
       FOR EACH ROW EXECUTE FUNCTION log_entries_append_only()""",
]


def summary_template(verb: str) -> str:
    """The summary template of a verb (untranslated), for listing verbs in filters."""
    return str(VERBS.get(verb, verb))


register_verbs(
    {
        "auth.login": N_("signed in"),
        "auth.logout": N_("signed out"),
        "auth.login_failed": N_("failed sign-in as %(username)s"),
        "auth.register": N_("registered as %(label)s"),
        "auth.password_change": N_("changed the password of %(label)s"),
        "auth.preferences": N_("updated the preferences of %(label)s"),
    }
)
