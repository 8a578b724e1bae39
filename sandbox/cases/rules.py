"""Reading a case's values and the people a workflow names (owner's superiors, class instructors).

Values come from forms, CSV rows and scenario code alike; each is read by its field's kind from the
definition (a built-in column or a field of the workflow's own) and refused with a message next to it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..access import assignable_users_query
from ..codes.services import choices as code_choices
from ..errors import ServiceError
from ..extensions import db
from ..numbers import DB_INT_MAX
from ..org.models import Position, Role, Status, User
from ..workflows.schema import BUILTIN_FIELDS, STAMP_COLUMNS, Workflow
from .models import Case

# The fields every case's form offers (create and edit), before the workflow's own.
COMMON_FIELDS = ("subject", "description", "priority", "account_id", "contact_id")
BUILTIN_LABELS: dict[str, Any] = {
    "subject": _l("Subject"), "description": _l("Description"), "priority": _l("Priority"),
    "account_id": _l("Account"), "contact_id": _l("Contact"), "assignee_id": _l("Assignee"),
    "supervisor_id": _l("Supervisor"), "level": _l("Complaint level"), "channel": _l("Channel"),
    "target": _l("Complaint target"), "satisfaction": _l("Satisfaction (1–5)"),
}
TEXT_LIMITS = {"subject": 200, "text": 300, "longtext": 5000}
MAX_DECIMAL = Decimal("1000000000")
MAX_PARTS = 20


def locale() -> str:
    """The reader's language code ("zh_Hans_CN", "en")."""
    return str(get_locale() or "en")


def field_label(wf: Workflow | None, name: str) -> str:
    """A field's label in the reader's language (built-in: the catalogue; the workflow's own: its file)."""
    if name in BUILTIN_LABELS:
        return str(BUILTIN_LABELS[name])
    declared = wf.fields.get(name) if wf else None
    return declared.label.pick(locale()) if declared else name


def state_label(wf: Workflow | None, state: str | None) -> str:
    """A state's label in the reader's language (the code itself for a state the definition lost)."""
    found = wf.state(state) if wf else None
    return found.label.pick(locale()) if found else (state or "—")


def workflow_label(wf: Workflow | None, key: str | None = None) -> str:
    """A workflow's name in the reader's language."""
    return wf.name.pick(locale()) if wf else (key or "—")


def values_of(case: Case) -> dict[str, Any]:
    """Every value of a case as the definition names them: the built-in columns and the workflow's data."""
    values = {name: getattr(case, name) for name in BUILTIN_FIELDS}
    values.update(case.data or {})
    return values


def _refuse(message: str, name: str) -> ServiceError:
    return ServiceError(message, name)


def read_value(wf: Workflow, name: str, raw: Any, class_id: int | None, users: set[int] | None = None) -> Any:
    """The value of field `name` read from `raw` by its kind; None when blank; ServiceError when unreadable.

    `users`: the active users of the class among those the caller's values name, when already looked up.
    """
    kind = wf.field_kind(name)
    label = field_label(wf, name)
    if kind is None:
        raise _refuse(_("%(field)s is not a field of this workflow.", field=name), name)
    if raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []:
        return None
    if kind in ("text", "longtext"):
        text = str(raw).replace("\x00", "").strip()
        limit = TEXT_LIMITS["subject" if name == "subject" else kind]
        if len(text) > limit:
            raise _refuse(_("%(field)s: at most %(n)s characters.", field=label, n=limit), name)
        return text
    if kind in ("int", "level", "score"):
        low, high = (1, 5) if kind != "int" else (wf.fields[name].min, wf.fields[name].max)
        try:
            number = int(str(raw).strip()) if not isinstance(raw, bool) else None
        except ValueError:
            number = None
        if number is None or (low is not None and number < low) or (high is not None and number > high):
            span = _("from %(low)s to %(high)s", low=low, high=high) if low is not None and high is not None \
                else _("a whole number")
            raise _refuse(_("%(field)s: enter a whole number %(span)s.", field=label, span=span), name)
        return number
    if kind == "decimal":
        try:
            amount = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount < 0 or amount >= MAX_DECIMAL:
            raise _refuse(_("%(field)s: enter an amount from 0 to 999,999,999.99.", field=label), name)
        return str(amount.quantize(Decimal("0.01")))
    if kind.startswith("code:"):
        code = str(raw).strip()
        if code not in dict(code_choices(kind[5:])):
            raise _refuse(_("%(field)s: choose one of the listed values.", field=label), name)
        return code
    if kind in ("user", "account", "contact"):
        return _reference(kind, name, label, raw, class_id, users)
    if kind == "parts":
        return read_parts(raw, name, label)
    raise _refuse(_("%(field)s is not a field of this workflow.", field=name), name)  # pragma: no cover


def _reference(kind: str, name: str, label: str, raw: Any, class_id: int | None, users: set[int] | None) -> int:
    ident = as_id(raw)
    found = None
    if 0 < ident <= DB_INT_MAX:
        if kind == "user" and users is not None:
            found = ident if ident in users else None
        elif kind == "user":
            found = db.session.scalars(assignable_users_query(class_id).where(User.id == ident)).first()
        else:
            from ..accounts.models import Account
            from ..contacts.models import Contact

            model = Account if kind == "account" else Contact
            found = db.session.scalar(select(model).where(model.id == ident))  # through visibility
    if found is None:
        message = _("%(field)s: choose an active user of this case's class.", field=label) if kind == "user" \
            else _("%(field)s: choose a record you can see.", field=label)
        raise _refuse(message, name)
    return ident


def as_id(raw: Any) -> int:
    """An id from a form or file value (0 when it is no whole number)."""
    try:
        return int(str(raw).strip())
    except ValueError:
        return 0


def class_users(ids: list[int], class_id: int | None) -> set[int]:
    """Which of these ids are active users of the class, in one query."""
    wanted = [i for i in ids if 0 < i <= DB_INT_MAX]
    if not wanted:
        return set()
    return set(db.session.scalars(assignable_users_query(class_id).with_only_columns(User.id)
                                  .where(User.id.in_(wanted))))


def read_parts(raw: Any, name: str = "parts", label: str = "") -> list[dict[str, Any]]:
    """Spare parts as [{code, quantity}]: a list of mappings, or text with one `CODE QUANTITY` per line."""
    items: list[tuple[Any, Any]] = []
    if isinstance(raw, str):
        for line in raw.replace(";", "\n").splitlines():
            bits = line.replace(",", " ").replace(":", " ").replace("×", " ").split()
            if bits:
                items.append((bits[0], bits[1] if len(bits) > 1 else None))
    elif isinstance(raw, list):
        items = [(p.get("code") or p.get("product_id"), p.get("quantity")) if isinstance(p, dict) else (None, None)
                 for p in raw]
    parts = []
    for code, quantity in items:
        try:
            qty = int(str(quantity))
        except ValueError:
            qty = 0
        if not code or qty <= 0 or qty > 100_000:
            raise _refuse(_("%(field)s: one product code and a quantity (1 or more) per line, e.g. “P-0001 2”.",
                            field=label or name), name)
        parts.append({"code": str(code).strip()[:40], "quantity": qty})
    if len(parts) > MAX_PARTS:
        raise _refuse(_("%(field)s: at most %(n)s lines.", field=label or name, n=MAX_PARTS), name)
    return parts


def set_value(case: Case, name: str, value: Any) -> None:
    """Write one value: a built-in field to its column, any other to the case's data (a new dict, so it is seen)."""
    if name in BUILTIN_FIELDS:
        setattr(case, name, value)
        return
    data = dict(case.data or {})
    if value is None:
        data.pop(name, None)
    else:
        data[name] = value
    case.data = data or None


def set_stamp(case: Case, name: str, value: Any) -> None:
    """Set (or clear) a timestamp: a column for the shared ones, else the case's `stamps`."""
    if name in STAMP_COLUMNS:
        setattr(case, name, value)
        return
    stamps = dict(case.stamps or {})
    if value is None:
        stamps.pop(name, None)
    else:
        stamps[name] = value.isoformat(timespec="seconds")
    case.stamps = stamps or None


def ancestors(position: Position | None) -> list[int]:
    """The ids of the positions strictly above `position` (from its path)."""
    if position is None:
        return []
    return [int(i) for i in position.path.strip("/").split("/") if i and int(i) != position.id]


def superior_ids(case: Case) -> list[int]:
    """Active users on positions above the case owner's inside the class (managers; not observers, not teachers)."""
    owner = db.session.get(User, case.owner_id)
    above = ancestors(owner.position if owner else None)
    if not above:
        return []
    return list(db.session.scalars(select(User.id).join(Position, User.position_id == Position.id).where(
        User.position_id.in_(above), Position.class_id == case.class_id, User.status == Status.ACTIVE,
        User.role.in_([Role.STUDENT, Role.INSTRUCTOR]), User.id != case.owner_id)))


def instructor_ids(class_id: int | None) -> list[int]:
    """The active instructors of a class: those on the class's node or a node above it."""
    klass = db.session.get(Position, class_id) if class_id else None
    if klass is None:
        return []
    nodes = [*ancestors(klass), klass.id]
    return list(db.session.scalars(select(User.id).where(
        User.position_id.in_(nodes), User.role == Role.INSTRUCTOR, User.status == Status.ACTIVE)))


def is_superior(actor: User, case: Case) -> bool:
    """Whether the actor holds a position above the case owner's."""
    owner = db.session.get(User, case.owner_id)
    return bool(owner and owner.position and actor.position_id
                and actor.position_id in ancestors(owner.position))
