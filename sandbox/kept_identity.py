"""The signed-in user and their viewer, kept by each worker between requests while the organisation is unchanged.

Every page needs the user (with the position) and the viewer (built from positions, users below, sharing
groups and modes). Loading them cost two statements and about 2 ms of ORM work per request, a sixth of a
cheap page. A worker now keeps, per user, the column values of the user and the position and the viewer,
valid while `org_stamps.version` is what it read them under; a request reads that one number instead.

Every insert, update or delete of an organisation table moves the version in the same transaction, before
the statement runs (an engine listener: it sees ORM flushes and Core statements alike), so a change that
another worker or process commits (a student moved or disabled, a password changed, a group edited) is seen
on the next request of every worker, and a transaction that rolls back moves nothing. Nothing about business
records is kept: the one viewer field that depends on them (`whole_class` when others share the class node)
is probed afresh on each request. Other values read from organisation tables alone (the people a list's owner
filter offers) are kept the same way, by `kept_for_org`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from flask import current_app, g
from sqlalchemy import event, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import UpdateBase

from .extensions import db
from .shared_state import OrgStamp

# What a viewer or a signed-in user is built from (sandbox.access._viewer_rows_statement, User, Position).
ORG_TABLES = frozenset({"users", "positions", "sharing_modes", "sharing_groups", "sharing_group_members"})
_STORE = "sandbox.identities"  # app.extensions key: OrderedDict {user id: _Kept}, oldest first
_LIMIT = 5000  # users kept per worker (a lecture hall is 1,000; beyond it the oldest are dropped)
_READ = select(OrgStamp.version).where(OrgStamp.id == 1)
_BUMP = update(OrgStamp.__table__).where(OrgStamp.__table__.c.id == 1).values(version=OrgStamp.__table__.c.version + 1)
_MOVED = "sandbox.org_stamp_moved"  # connection.info flag: this transaction has moved the stamp already
_DERIVED = "sandbox.org_derived"  # app.extensions key: OrderedDict {key: (version, value)}, oldest first
_DERIVED_LIMIT = 1024  # values kept per worker (a viewer scope each: a few per class, one per private student)
T = TypeVar("T")


@event.listens_for(Engine, "before_execute")
def _move_stamp(conn: Connection, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any) -> None:
    # Before the change itself: readers that see the change see the new version with it (same commit).
    if isinstance(clauseelement, UpdateBase) and not conn.info.get(_MOVED):
        table = getattr(clauseelement, "table", None)
        if getattr(table, "name", None) in ORG_TABLES:
            conn.info[_MOVED] = True
            conn.execute(_BUMP)


@event.listens_for(Engine, "begin")
@event.listens_for(Engine, "rollback_savepoint")
def _new_transaction(conn: Connection, *args: Any) -> None:
    # A new transaction has moved nothing yet; a savepoint rolled back may have taken its move with it.
    conn.info.pop(_MOVED, None)


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_over(conn: Connection) -> None:
    conn.info.pop(_MOVED, None)


def leave_unmoved(conn: Connection) -> None:
    """The transaction begun on `conn` copies rows as they were (a restore, whose archive carries the stamp's
    row too): it moves nothing. A restore runs with the app stopped (DEPLOY.md), so no worker keeps anything."""
    conn.info[_MOVED] = True


@dataclass(frozen=True)
class _Kept:
    """One user as a worker keeps them: column values (user, position) and the viewer, under a version."""

    version: int
    user: dict[str, Any]
    position: dict[str, Any] | None
    viewer: Any
    peers: tuple[int, ...]  # others on the viewer's class node: whole_class is probed per request then


def current_version() -> int | None:
    """The organisation's version for this request (read once, first thing, or with the page's other first
    reads: sandbox.first_reads), None without the stamp row."""
    version = g.get("_org_version", False)
    if version is False:
        version = g._org_version = db.session.connection().execute(_READ).scalar()
    return version


def version_column() -> Any:
    """The organisation's version as one column (of first_reads' statement)."""
    return _READ.scalar_subquery()


def use_version(version: int | None) -> None:
    """Take the version first_reads read as this request's (as current_version would have read it)."""
    g._org_version = version


def kept_for_org(key: Hashable, build: Callable[[], T]) -> T:
    """A value read from organisation tables only (`key` names everything else it depends on), kept by this
    worker while the organisation's version holds. Built afresh, and not kept, when this transaction has
    changed the organisation itself or holds unflushed changes: the version read first thing is behind them."""
    version = current_version()
    session = db.session
    if version is None or session.new or session.dirty or session.deleted or session.connection().info.get(_MOVED):
        return build()
    store: OrderedDict[Hashable, tuple[int, Any]] = current_app.extensions.setdefault(_DERIVED, OrderedDict())
    kept = store.get(key)
    if kept is not None and kept[0] == version:
        store.move_to_end(key)
        return kept[1]
    value = build()
    store[key] = (version, value)
    store.move_to_end(key)
    while len(store) > _DERIVED_LIMIT:
        store.popitem(last=False)
    return value


def _store() -> OrderedDict[int, _Kept]:
    store = current_app.extensions.get(_STORE)
    if store is None:
        store = current_app.extensions[_STORE] = OrderedDict()
    return store


def _instance(cls: type, values: dict[str, Any]) -> Any:
    """A detached instance with these loaded values: attached to a session, it is persistent without SQL."""
    obj = cls.__mapper__.class_manager.new_instance()
    for key, value in values.items():
        set_committed_value(obj, key, value)
    make_transient_to_detached(obj)
    return obj


def _values(obj: Any) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in type(obj).__mapper__.column_attrs}


def kept_user(user_id: int) -> Any | None:
    """The user as this worker keeps them, attached to this request's session (no SQL), or None."""
    from .org.models import Position, User

    version = current_version()
    kept = _store().get(user_id)
    if version is None or kept is None or kept.version != version:
        return None
    session = db.session
    if User.__mapper__.identity_key_from_primary_key([user_id]) in session.identity_map:
        return None  # the session holds this user already (a CLI or test context): load it the normal way
    user = _instance(User, kept.user)
    position = None
    if kept.position is not None:
        key = Position.__mapper__.identity_key_from_primary_key([kept.position["id"]])
        position = session.identity_map.get(key) or _instance(Position, kept.position)
    set_committed_value(user, "position", position)
    session.add(user)
    g._kept_identity = kept
    return user


def viewer_of(user: Any) -> Any:
    """The viewer of the signed-in user: kept while the organisation's version holds, else built and kept."""
    from . import access

    kept: _Kept | None = g.get("_kept_identity")
    if kept is not None and kept.user.get("id") == user.id:
        if kept.peers and kept.viewer.whole_class != (fresh := access._sees_whole_class(list(kept.peers), user.position)):
            return replace(kept.viewer, whole_class=fresh)
        return kept.viewer
    version = current_version()
    viewer, peers = access.build_viewer(user)
    if version is not None and not db.session.dirty and not db.session.new:
        store = _store()
        store.pop(user.id, None)
        store[user.id] = _Kept(version, _values(user), _values(user.position) if user.position is not None else None,
                               viewer, tuple(peers))
        while len(store) > _LIMIT:
            store.popitem(last=False)
    return viewer
