"""THE visibility and sharing rule (SPEC §4), written once and applied to every ORM query.

`Viewer` is computed once per request from the signed-in user (position path, class, subordinates,
sharing groups, sharing modes). A `do_orm_execute` listener adds `with_loader_criteria` for every
business record type to every ORM SELECT, so lists, detail pages, counts, related lists, pickers and
exports are all filtered without each view remembering. The only way around it is the explicit
execution option `skip_visibility=True`, for seeding, reset and system jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any
from weakref import WeakKeyDictionary

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    cast,
    event,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql.cache_key import NO_CACHE
from sqlalchemy.sql.elements import ColumnElement

from .errors import NotAllowed
from .extensions import db
from .org.models import (
    Position,
    PositionKind,
    Role,
    SharingGroup,
    SharingGroupMember,
    SharingMode,
    SharingModeValue,
    Status,
    User,
)
from .owned import Owned, owned_classes


@dataclass(frozen=True)
class Viewer:
    """Everything the rule needs to know about who is looking."""

    user_id: int
    role: str
    position_id: int | None = None
    position_path: str | None = None
    class_id: int | None = None
    # Classes whose node lies strictly below the viewer's position (instructors above classes).
    below_class_ids: frozenset[int] = frozenset()
    # Users on positions strictly below the viewer's position.
    subordinate_ids: frozenset[int] = frozenset()
    # Users sharing a sharing group with the viewer: group id -> member ids.
    groups: dict[int, frozenset[int]] = field(default_factory=dict)
    group_names: dict[int, str] = field(default_factory=dict)
    # Sharing mode per record type in the viewer's class.
    sharing: dict[str, str] = field(default_factory=dict)
    # True when every user who can own a record of the viewer's class is in owner_ids (an instructor on the
    # class node with no peer there): "class_id = ? AND owner_id IN (every owner)" is then "class_id = ?".
    whole_class: bool = False
    # Subordinates outside every class (positions between the viewer and the classes): with the viewer and
    # the group members, the only owners of class-less records the viewer reads (records follow their owner's
    # class, org/services._move_records, so a class member owns no class-less record).
    classless_subordinate_ids: frozenset[int] = frozenset()
    # Classes the viewer runs (load, reset, grade, place students): an instructor's subtree, all for admins.
    managed_class_ids: frozenset[int] = frozenset()
    # Classes whose gradebook and activity the viewer reads: the managed ones, an observer's own class.
    readable_class_ids: frozenset[int] = frozenset()
    # The viewer's position as the layout names it (Position.path_label), read with the rest of the viewer.
    position_label: str = ""

    @property
    def is_admin(self) -> bool:
        """Whether the viewer is an administrator (reads and writes everything)."""
        return self.role == Role.ADMIN

    @property
    def is_readonly(self) -> bool:
        """Whether the viewer is a read-only observer (never changes anything)."""
        return self.role == Role.READONLY

    @property
    def group_member_ids(self) -> frozenset[int]:
        """Everyone who shares a sharing group with the viewer."""
        return frozenset().union(*self.groups.values()) if self.groups else frozenset()

    @property
    def owner_ids(self) -> frozenset[int]:
        """Owners whose records the viewer reads and writes through ownership, hierarchy or groups."""
        return frozenset({self.user_id}) | self.subordinate_ids | self.group_member_ids

    @property
    def classless_owner_ids(self) -> frozenset[int]:
        """The owners of the class-less records a viewer above class level reads (a subset of owner_ids)."""
        return frozenset({self.user_id}) | self.classless_subordinate_ids | self.group_member_ids


class _System:
    """The viewer of system jobs (seed, reset, CLI maintenance): sees everything not deleted."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


def _viewer_rows_statement() -> Any:
    """Everything a viewer is built from, in ONE statement of tagged rows (built once per process).

    Each part was a query of its own (positions below, users below, sharing groups, sharing modes, peers on a
    class node, and the ancestors the layout's position label names); every page pays for them, and a round
    trip through the ORM cost more than the lookups. Rows are (tag, a, b, c, s, t):

    * ``a`` an ancestor of the viewer's position: id, class_id, parent_id, name;
    * ``b`` a position strictly below: id, kind in s;
    * ``u`` an active or disabled user on a position strictly below: id, class_id;
    * ``g`` a member of one of the viewer's sharing groups: group id, member id, group name in s;
    * ``m`` the viewer's class's sharing mode: record type in s, mode in t;
    * ``p`` another active or disabled user on the viewer's node when it is a class node: id;
    * ``k`` for an administrator, every class: id.
    """
    int_ = cast(null(), Integer)
    str_ = cast(null(), String)
    prefix, here = bindparam("prefix", type_=String), bindparam("position", type_=Integer)
    below = and_(Position.path.startswith(prefix), Position.id != here)
    owners = User.status.in_([Status.ACTIVE, Status.DISABLED])
    mine = select(SharingGroupMember.group_id).where(SharingGroupMember.user_id == bindparam("user", type_=Integer))
    parts = [
        select(literal_column("'a'").label("tag"), Position.id.label("a"), Position.class_id.label("b"),
               Position.parent_id.label("c"), Position.name.label("s"), str_.label("t"))
        .where(Position.id.in_(bindparam("ancestors", expanding=True, type_=Integer))),
        select(literal_column("'b'"), Position.id, int_, int_, Position.kind, str_).where(below),
        select(literal_column("'u'"), User.id, User.class_id, int_, str_, str_)
        .join(Position, Position.id == User.position_id).where(below, owners),
        select(literal_column("'g'"), SharingGroup.id, SharingGroupMember.user_id, int_, SharingGroup.name, str_)
        .join(SharingGroupMember, SharingGroupMember.group_id == SharingGroup.id).where(SharingGroup.id.in_(mine)),
        select(literal_column("'m'"), int_, int_, int_, SharingMode.record_type, SharingMode.mode)
        .where(SharingMode.class_id == bindparam("class", type_=Integer)),
        select(literal_column("'p'"), User.id, int_, int_, str_, str_).where(
            User.position_id == bindparam("class_node", type_=Integer),
            User.id != bindparam("user", type_=Integer), owners),
        select(literal_column("'k'"), Position.id, int_, int_, str_, str_).where(
            Position.kind == bindparam("every", type_=String)),
    ]
    return union_all(*parts)


_VIEWER_ROWS = _viewer_rows_statement()


def viewer_for(user: User) -> Viewer:
    """Build the viewer of a signed-in user: the user's position (loaded with the user by the sign-in
    loader), then one statement for the rest (`_viewer_rows_statement`). Org tables only, no business
    record: it runs on the session's connection, outside the ORM and its record rule."""
    return build_viewer(user)[0]


def build_viewer(user: User) -> tuple[Viewer, list[int]]:
    """The viewer of `user` and the others on its class node (`peers`): the viewer's one field that depends
    on records, `whole_class`, is probed over them, so whoever keeps the viewer probes again (kept_identity)."""
    position = user.position
    if position is None:
        every = _all_class_ids() if user.role == Role.ADMIN else frozenset()
        return Viewer(user_id=user.id, role=user.role, managed_class_ids=every, readable_class_ids=every), []
    ancestors = [int(i) for i in position.path.strip("/").split("/") if i and int(i) != position.id]
    on_class_node = position.class_id is not None and position.id == position.class_id
    rows = db.session.connection().execute(_VIEWER_ROWS, {
        "prefix": position.path, "position": position.id, "user": user.id, "ancestors": ancestors,
        "class": position.class_id, "class_node": position.id if on_class_node else None,
        "every": PositionKind.CLASS.value if user.role == Role.ADMIN else None,
    }).all()
    found: dict[int, Any] = {}
    below_class_ids: set[int] = set()
    subordinates: set[int] = set()
    classless: set[int] = set()
    groups: dict[int, set[int]] = {}
    names: dict[int, str] = {}
    sharing: dict[str, str] = {}
    peers: list[int] = []
    every_class: set[int] = set()
    for tag, a, b, c, s, t in rows:
        if tag == "a":
            found[a] = _Node(a, b, c, s)
        elif tag == "b":
            if s == PositionKind.CLASS:
                below_class_ids.add(a)
        elif tag == "u":
            # Disabled users keep their records, and their superiors keep seeing them (only pending and
            # rejected users, who own nothing, are left out). Joined on the path, not "position_id IN (every
            # position below)": a teacher above four classes has over a thousand of them.
            subordinates.add(a)
            if b is None:
                classless.add(a)
        elif tag == "g":
            names[a] = s
            if b != user.id:
                groups.setdefault(a, set()).add(b)
        elif tag == "m":
            sharing[s] = t
        elif tag == "p":
            peers.append(a)
        elif tag == "k":
            every_class.add(a)
    whole_class = on_class_node and _sees_whole_class(peers, position)
    below_classes = frozenset(below_class_ids)
    managed = frozenset(every_class) if user.role == Role.ADMIN else _managed_class_ids(user, position, below_classes)
    readable = managed | ({position.class_id} if user.role == Role.READONLY and position.class_id else set())
    nodes = [found[i] for i in ancestors if i in found] + [position]
    return Viewer(
        user_id=user.id,
        role=user.role,
        managed_class_ids=managed,
        readable_class_ids=frozenset(readable),
        position_id=position.id,
        position_path=position.path,
        class_id=position.class_id,
        below_class_ids=below_classes,
        subordinate_ids=frozenset(subordinates),
        whole_class=whole_class,
        classless_subordinate_ids=frozenset(classless),
        groups={k: frozenset(v) for k, v in groups.items()},
        group_names=names,
        sharing=sharing,
        position_label=Position.label_of(nodes, position),
    ), peers


@dataclass(frozen=True)
class _Node:
    """An ancestor position as the label needs it (Position.label_of)."""

    id: int
    class_id: int | None
    parent_id: int | None
    name: str


def _sees_whole_class(peers: list[int], node: Position) -> bool:
    """Whether a viewer on a class node stands above every owner of the class's records.

    Everyone of the class but the users on the node itself is a subordinate; so the viewer sees the whole
    class unless another user on the node (`peers`: a co-instructor, an observer who once was a student) owns a
    record there, deleted or not. Usually nobody else is on the node and this asks nothing more.
    """
    if not peers:
        return True
    owned = or_(*(select(cls.id).where(cls.owner_id.in_(peers), cls.class_id == node.id).exists()
                  for cls in owned_classes()))
    # The rule is being built here: the probe itself must not be filtered by it.
    return not db.session.scalar(select(owned).execution_options(skip_visibility=True, include_deleted=True))


def _all_class_ids() -> frozenset[int]:
    return frozenset(db.session.connection().execute(
        select(Position.id).where(Position.kind == PositionKind.CLASS)).scalars())


def _managed_class_ids(user: User, position: Position, below: frozenset[int]) -> frozenset[int]:
    if user.role == Role.ADMIN:
        return _all_class_ids()
    if user.role != Role.INSTRUCTOR:
        return frozenset()
    return below | ({position.id} if position.kind == PositionKind.CLASS else set())


def sharing_mode(cls: type, viewer: Viewer) -> str:
    """The class sharing mode of record type `cls` in the viewer's class (private when unset)."""
    if getattr(cls, "__class_readable__", False):
        return SharingModeValue.READ_ONLY
    kind = getattr(cls, "__sharing_type__", None) or getattr(cls, "__audit_type__", "")
    return viewer.sharing.get(kind, SharingModeValue.PRIVATE)


def criterion(cls: Any, viewer: Any, include_deleted: bool = False, by_key: bool = False,
              bound: bool = False) -> ColumnElement[bool]:
    """The SQL condition under which `viewer` may read rows of `cls`.

    `by_key`: the query names its rows by primary key (a page's referenced records). The same condition,
    with class_id and deleted_at behind a no-op expression so SQLite's planner cannot walk a whole class
    through their index (it takes `deleted_at IS NULL` for a few rows) instead of fetching the ids.
    `bound`: the viewer's ids are parameters bound when the statement runs, from the viewer it runs for
    (`_bound`), so one condition serves every viewer of the same shape; else they are written in.
    """
    class_id = cls.class_id + 0 if by_key else cls.class_id
    deleted_at = func.coalesce(cls.deleted_at, cls.deleted_at) if by_key else cls.deleted_at
    alive = true() if include_deleted else deleted_at.is_(None)
    if viewer is SYSTEM:
        return alive
    if not isinstance(viewer, Viewer):
        return false()
    if viewer.is_admin:
        return alive
    value = _bound if bound else _value_of
    terms: list[ColumnElement[bool]] = []
    if viewer.below_class_ids:
        terms.append(class_id.in_(value(viewer, "below_class_ids")))
    if viewer.class_id is not None:
        if viewer.whole_class or sharing_mode(cls, viewer) != SharingModeValue.PRIVATE:
            # The same rows as the owner list below when the viewer stands above every owner of the class, and
            # the (class_id, deleted_at, created_at) index serves it without probing hundreds of owners.
            terms.append(class_id == value(viewer, "class_id"))
        else:
            # Kept as one conjunct so the (owner_id, deleted_at, created_at) index serves it.
            terms.append(and_(class_id == value(viewer, "class_id"), _owner_in(cls, viewer, "owner_ids", value)))
    else:
        # Above class level: own records and those of class-less subordinates (never inside a class).
        terms.append(and_(class_id.is_(None), _owner_in(cls, viewer, "classless_owner_ids", value)))
    return and_(or_(*terms) if len(terms) > 1 else terms[0], alive)


def owner_candidates(cls: Any, viewer: Any) -> tuple[frozenset[int], frozenset[int]] | None:
    """Who may own a `cls` record the viewer reads (may say more): (classes all of whose members may, further
    users who may). None: anyone (the system, an administrator)."""
    if viewer is SYSTEM or (isinstance(viewer, Viewer) and viewer.is_admin):
        return None
    if not isinstance(viewer, Viewer):
        return frozenset(), frozenset()
    # Mirrors criterion(): whole classes open up only through the tree or class sharing; otherwise
    # only owner_ids can own what the viewer reads.
    whole = set(viewer.below_class_ids)
    if viewer.class_id is not None and (viewer.whole_class or sharing_mode(cls, viewer) != SharingModeValue.PRIVATE):
        whole.add(viewer.class_id)
    # Above class level only class-less records are read by owner (criterion() names classless_owner_ids).
    ids = viewer.owner_ids if viewer.class_id is not None else viewer.classless_owner_ids
    return frozenset(whole), frozenset(ids)


def owners_among(candidates: tuple[frozenset[int], frozenset[int]] | None) -> ColumnElement[bool]:
    """A condition on User true for the users `owner_candidates` answered (every owner of a record the viewer
    may read, and maybe more)."""
    if candidates is None:
        return true()
    whole, ids = candidates
    if not whole and not ids:
        return false()
    owners = User.id.in_(sorted(ids))
    return or_(User.class_id.in_(sorted(whole)), owners) if whole else owners


def _owner_in(cls: Any, viewer: Viewer, name: str, value: Any) -> ColumnElement[bool]:
    if len(getattr(viewer, name)) == 1:  # part of the rule's shape (_shape)
        return cls.owner_id == value(viewer, name + _ONLY)
    return cls.owner_id.in_(value(viewer, name))


# --- the viewer's values in a condition: written in, or bound when the statement runs ---------------------------
_ONLY = ":only"  # suffix of a set's name: its one member (the rule compares with = rather than IN)
_SETS = frozenset({"below_class_ids", "subordinate_ids", "owner_ids", "classless_owner_ids"})


def _value_of(viewer: Viewer, name: str) -> Any:
    """The viewer's `name` as the rule binds it: a sorted list for a set, its member for `set:only`, else as is."""
    values = viewer.__dict__.get("_rule_values")
    if values is None:
        values = {}
        object.__setattr__(viewer, "_rule_values", values)  # frozen dataclass: memo, not a field
    if name not in values:
        base = name.removesuffix(_ONLY)
        found = getattr(viewer, base)
        values[name] = next(iter(found)) if name != base else sorted(found) if base in _SETS else found
    return values[name]


def _bound(viewer: Viewer, name: str) -> Any:
    """A parameter whose value is the viewer's `name`, read when the statement runs from the viewer it runs for
    (`_apply_visibility` sets it). A viewer of another shape than `viewer`'s binds what matches no row: the
    condition around the parameter was built for that shape only."""
    return bindparam(f"rule_{name.removesuffix(_ONLY)}", unique=True, type_=Integer,
                     expanding=name in _SETS, callable_=partial(_run_value, _shape(viewer), name))


_RUN_VIEWER: ContextVar[Any] = ContextVar("rule_viewer", default=None)


def _run_value(shape: Any, name: str) -> Any:
    viewer = _RUN_VIEWER.get()
    if _shape(viewer) != shape:  # see _bound: fail closed (an empty IN list, or = NULL)
        return [] if name in _SETS else None
    return _value_of(viewer, name)


def current_viewer() -> Any:
    """Who looks in this session (a Viewer, SYSTEM, or None: nobody, who reads nothing)."""
    return db.session.info.get("viewer")


def use_viewer(viewer: Any) -> None:
    """Set who looks for the rest of this session (request or CLI command)."""
    db.session.info["viewer"] = viewer


@contextmanager
def viewing_as(viewer: Any) -> Iterator[None]:
    """Temporarily look as someone else (tests, CLI commands acting for a user)."""
    before = db.session.info.get("viewer")
    db.session.info["viewer"] = viewer
    try:
        yield
    finally:
        db.session.info["viewer"] = before


@contextmanager
def reading_whole_log() -> Iterator[None]:
    """Read the operation log without the log's read rule for a while (grading and class activity).

    Grading counts every student's entries of a run, whoever looks at the result (a student at their
    checklist, an observer at the gradebook); the record rule still applies. Like `skip_visibility`,
    grep for it in review.
    """
    before = db.session.info.get("whole_log", False)
    db.session.info["whole_log"] = True
    try:
        yield
    finally:
        db.session.info["whole_log"] = before


def _shape(viewer: Any) -> Any:
    """A hashable value, equal for viewers whose record and log conditions have the same form (they differ at
    most in the ids bound into them): every viewer field criterion() and log_criterion() branch on. (Some imply
    others for the viewers the tree makes, as one owner implies no subordinate; each is kept as the rule reads it.)"""
    if not isinstance(viewer, Viewer):
        # The rule knows two other viewers: SYSTEM, and anyone else (None, a stray object), who reads nothing.
        return "system" if viewer is SYSTEM else "nobody"
    shape = viewer.__dict__.get("_rule_shape")
    if shape is None:
        shape = (viewer.role, viewer.class_id is None, viewer.whole_class, bool(viewer.below_class_ids),
                 bool(viewer.subordinate_ids), len(viewer.owner_ids) == 1, len(viewer.classless_owner_ids) == 1,
                 tuple(sorted(viewer.sharing.items())))
        object.__setattr__(viewer, "_rule_shape", shape)  # frozen dataclass: computed once, not a field
    return shape


class _SameShape:
    """A viewer compared and hashed by its rule's shape, so viewers of one shape share one set of options."""

    __slots__ = ("viewer", "key")

    def __init__(self, viewer: Any) -> None:
        self.viewer, self.key = viewer, _shape(viewer)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SameShape) and self.key == other.key


class _KeptRule(LoaderCriteriaOption):
    """`with_loader_criteria` whose cache key is computed once: the option is kept and never changes.

    Every ORM SELECT carries fifteen of these, and SQLAlchemy otherwise walks each condition again to build the
    statement's cache key on every execution (a tenth of a page's CPU). The kept key is the one SQLAlchemy
    builds, from an anonymous-name map of its own: the condition shares no anonymous element with the rest of
    a statement (its columns key by name), so the statement's key still names its structure exactly, and the
    condition's bound values are handed over in the same order each time (tests/test_access_options.py compares
    the SQL and the rows with plain options).
    """

    __slots__ = ("_kept_key",)
    _traverse_internals = LoaderCriteriaOption._traverse_internals  # the same key as the plain option

    def _gen_cache_key(self, anon_map: Any, bindparams: list[Any]) -> Any:
        kept = getattr(self, "_kept_key", None)
        if kept is None:
            own_map, own_binds = type(anon_map)(), []
            key = super()._gen_cache_key(own_map, own_binds)
            if key is None or NO_CACHE in own_map:
                anon_map[NO_CACHE] = True
                return None
            kept = self._kept_key = (key, tuple(own_binds))
        bindparams.extend(kept[1])
        return kept[0]


def _rule(cls: Any, condition: ColumnElement[bool]) -> LoaderCriteriaOption:
    return _KeptRule(cls, condition, include_aliases=True)


# Kept by the worker: one set per shape of the rule and flags (a class has a handful of shapes, a lecture hall
# some dozens), its ids bound when each statement runs. Building a set costs ~1 ms and weighs ~27-55 KB; one per
# viewer (as before) cost a worker of a 1,000-student hall about 2,440 builds a run, most in users' first requests.
@lru_cache(maxsize=512)
def _options_for(same: _SameShape, include_deleted: bool, whole_log: bool, by_key: bool) -> tuple[Any, ...]:
    viewer = same.viewer  # the first viewer of the shape: only its shape is read (bound=True)
    options = tuple(_rule(cls, criterion(cls, viewer, include_deleted, by_key, bound=True))
                    for cls in owned_classes())
    if not whole_log:
        from .oplog import LogEntry  # the log module builds on this one's models, not the reverse

        options += (_rule(LogEntry, log_criterion(viewer, bound=True)),)
    return options


@event.listens_for(Session, "do_orm_execute")
def _apply_visibility(state: ORMExecuteState) -> None:
    """Add the record rule (every Owned type) and the log rule (LogEntry) to an ORM SELECT."""
    viewer = state.session.info.get("viewer")
    # Every ORM statement binds the rule's ids from the session's viewer, a relationship or column load too: it
    # carries the options of the query that loaded its parent (propagated), built for that query's viewer shape.
    _RUN_VIEWER.set(viewer)
    if not state.is_select or state.is_column_load or state.is_relationship_load:
        return
    if state.execution_options.get("skip_visibility", False):
        return
    options = _options_for(
        _SameShape(viewer),
        bool(state.execution_options.get("include_deleted", False)),
        bool(state.session.info.get("whole_log", False)),
        bool(state.execution_options.get("by_key", False)),
    )
    state.statement = _with_rule(state.statement, options)


# Statement → {id of an options set: (the set, the statement with it)}. Most of a page's statements are built once
# per process; their copies with each kept set of the rule are kept too, so SQLAlchemy's cache key of the copy
# (memoized on it) is not walked again at every execution: a record page's children (a UNION of five joins) spent
# a fifth of its time there. Held weakly: a statement built for one request takes its copies with it.
_WITH_RULE: WeakKeyDictionary[Any, dict[int, tuple[tuple[Any, ...], Any]]] = WeakKeyDictionary()


def _with_rule(statement: Any, options: tuple[Any, ...]) -> Any:
    """The statement with the rule's options: one copy per statement and set, kept while the statement lives.
    Statements are immutable, and the rule's ids are bound when each copy runs (`_bound`)."""
    copies = _WITH_RULE.get(statement)
    if copies is None:
        copies = _WITH_RULE[statement] = {}
    kept = copies.get(id(options))
    if kept is None or kept[0] is not options:
        if len(copies) >= 64:  # sets dropped by _options_for's LRU would stay here: start afresh
            copies.clear()
        kept = copies[id(options)] = (options, statement.options(*options))
    return kept[1]


def _in_class(obj: Owned, viewer: Viewer) -> bool:
    return obj.class_id is not None and obj.class_id == viewer.class_id


def why_visible(obj: Owned, viewer: Any) -> list[str]:
    """Every reason the viewer sees this record, for the record page (a teaching aid)."""
    if viewer is SYSTEM or not isinstance(viewer, Viewer):
        return []
    reasons: list[str] = []
    if viewer.is_admin:
        reasons.append(_("You are an administrator."))
    if obj.owner_id == viewer.user_id:
        reasons.append(_("You own this record."))
    if obj.class_id is not None and obj.class_id in viewer.below_class_ids:
        reasons.append(_("Its class lies below your position in the position tree."))
    same_class = obj.class_id == viewer.class_id
    if obj.owner_id in viewer.subordinate_ids and same_class:
        reasons.append(_("Its owner holds a position below yours (superiors see their subordinates)."))
    for gid, members in viewer.groups.items():
        if obj.owner_id in members and same_class:
            reasons.append(
                _("You and its owner are in the sharing group “%(name)s”.", name=viewer.group_names[gid])
            )
    if _in_class(obj, viewer):
        mode = sharing_mode(type(obj), viewer)
        if getattr(type(obj), "__class_readable__", False):
            reasons.append(_("This kind of record is readable by the whole class."))
        elif mode == SharingModeValue.READ_WRITE:
            reasons.append(_("Your class shares this kind of record read-write."))
        elif mode == SharingModeValue.READ_ONLY:
            reasons.append(_("Your class shares this kind of record read-only."))
    return reasons


def can_write(obj: Owned, viewer: Any) -> bool:
    """May the viewer change this record? (Reading is checked by the query filter.)"""
    if viewer is SYSTEM:
        return True
    if not isinstance(viewer, Viewer) or viewer.is_readonly:
        return False
    if viewer.is_admin:
        return True
    if obj.class_id is not None and obj.class_id in viewer.below_class_ids:
        return True
    if viewer.class_id is None:
        return obj.class_id is None and obj.owner_id in viewer.owner_ids
    if obj.class_id != viewer.class_id:
        return False
    if obj.owner_id in viewer.owner_ids:
        return True
    if getattr(type(obj), "__class_readable__", False):
        return False
    return sharing_mode(type(obj), viewer) == SharingModeValue.READ_WRITE


def require_write(obj: Owned) -> None:
    """Abort with 403 unless the current viewer may change the record (read-only roles never may)."""
    if not can_write(obj, current_viewer()):
        abort(403)


def acting_as_system(actor: Any) -> bool:
    """Whether a service runs for the system: no acting user, and `SYSTEM` set explicitly (seeding, reset, CLI).

    No actor anywhere else (a fresh app context, a job that forgot to say who it is) is refused rather
    than taken for the system: nothing fails open.
    """
    if actor is not None:
        return False
    if current_viewer() is SYSTEM:
        return True
    raise NotAllowed(_("Nobody is signed in to do this."))


def require_changer() -> None:
    """Abort with 403 unless the current viewer's role may change records at all (observers may not).

    Checked before any lookup on a write page, so an observer gets 403 for every id, existing or not.
    """
    viewer = current_viewer()
    if not isinstance(viewer, Viewer) or viewer.is_readonly:
        abort(403)


def get_writable_or_404(cls: type, ident: int, include_deleted: bool = False) -> Any:
    """The one door of every write page: a record the viewer may change.

    Observers get 403 before any lookup; a missing or invisible record is 404; a visible record the
    viewer may not change is 403.
    """
    require_changer()
    obj = get_visible_or_404(cls, ident, include_deleted=include_deleted)
    require_write(obj)
    return obj


def get_visible_or_404(cls: type, ident: int, include_deleted: bool = False) -> Any:
    """Load one record through the rule; invisible and missing look the same (404)."""
    # The rule decides by whether a row comes back; a copy the session holds already is refreshed from it. Only
    # then: populate_existing also refreshes every object the load joins in (a record's owner), and a refreshed
    # signed-in user loses the position the layout reads, which cost one more SELECT on every record page.
    held = cls.__mapper__.identity_key_from_primary_key([ident]) in db.session.identity_map  # type: ignore[attr-defined]
    obj = db.session.scalars(by_id_select(cls, include_deleted, held), {"ident": ident}).first()
    if obj is None:
        abort(404)
    return obj


@lru_cache(maxsize=256)
def by_id_select(cls: type, include_deleted: bool, held: bool) -> Any:
    """One record of `cls` by id through the rule (the id is the parameter `ident`), get_visible_or_404's
    statement: built once per type and flags, so its copies with the rule are kept too (`_with_rule`)."""
    return (select(cls).where(cls.id == bindparam("ident"))  # type: ignore[attr-defined]
            .execution_options(include_deleted=include_deleted, populate_existing=held))


def assignable_users_query(class_id: int | None) -> Any:
    """Active users of one class who may own records there (transfer targets)."""
    return (
        select(User)
        .where(
            User.class_id == class_id,
            User.status == Status.ACTIVE,
            User.role.in_([Role.STUDENT, Role.INSTRUCTOR]),
        )
        .order_by(User.display_name)
    )


def about_record(obj: Owned, type_column: Any, id_column: Any, class_column: Any) -> ColumnElement[bool]:
    """Rows about one record (its log entries, notes, attachments): its type, its id *and its class*.

    The class is part of the rule so a row of another class never shows on this record's page, even if
    an id were ever taken again (an undone reset's rows, a restored backup): the class stays sealed.
    """
    same_class = class_column.is_(None) if obj.class_id is None else class_column == obj.class_id
    return and_(type_column == obj.__audit_type__, id_column == obj.id, same_class)


def log_criterion(viewer: Any, bound: bool = False) -> ColumnElement[bool]:
    """Which operation-log entries the viewer may read: own; staff also their classes'; admin all.

    Applied to every ORM SELECT of LogEntry by `_apply_visibility`, as the record rule is; a page never
    adds it by hand. System jobs pass `skip_visibility=True`; grading reads inside `reading_whole_log()`.
    """
    from .oplog import LogEntry

    if viewer is SYSTEM:
        return true()
    if not isinstance(viewer, Viewer):
        return false()
    if viewer.is_admin:
        return true()
    value = _bound if bound else _value_of  # as in criterion()
    terms: list[ColumnElement[bool]] = [LogEntry.actor_id == value(viewer, "user_id")]
    if viewer.role in (Role.INSTRUCTOR, Role.READONLY) and viewer.below_class_ids:
        terms.append(LogEntry.class_id.in_(value(viewer, "below_class_ids")))
    if viewer.role in (Role.INSTRUCTOR, Role.READONLY) and viewer.subordinate_ids and viewer.class_id is not None:
        terms.append(LogEntry.actor_id.in_(value(viewer, "subordinate_ids")))
    return or_(*terms)
