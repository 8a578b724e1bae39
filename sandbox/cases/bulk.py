"""Visit orders in bulk: creation from a CSV file and status changes (chosen rows or a CSV file).

Each row goes through the same service as one case on its page (`create_case`, `transition_case`), so
the same rules apply row by row; a refused row is reported with the rule's message and changes nothing
(the services check everything before they write). One row changed is one `case.create` or
`case.transition` entry; rows from a file carry the import's source, as every import does.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..errors import NotAllowed, ServiceError
from ..extensions import db
from ..oplog import current_actor, current_op, operation
from ..org.models import User
from . import rules, services
from .models import Case

WORKFLOW = "visit_order"
MAX_ROWS = 1000
CREATE_COLUMNS = ("subject", "description", "priority", "account_id", "contact_id", "assignee")


@dataclass
class RowResult:
    """What happened to one row: changed (with the case) or refused (with the rule's message)."""

    line: int
    label: str
    changed: bool
    message: str
    case_id: int | None = None


def _rows(text: str) -> list[dict[str, str]]:
    """The CSV's rows as dicts keyed by the lower-cased header; ServiceError for no header or too many rows."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames:
        raise ServiceError(_("The file is empty: give a header row and one row per visit order."), "file")
    reader.fieldnames = [(name or "").strip().lower() for name in reader.fieldnames]
    rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    if len(rows) > MAX_ROWS:
        raise ServiceError(_("At most %(n)s rows per file.", n=MAX_ROWS), "file")
    return rows


@operation("case.bulk_create")
def create_visit_orders(text: str) -> list[RowResult]:
    """Create one visit order per CSV row (subject, description, priority, account_id, contact_id, assignee
    username); a refused row is reported and the others are kept."""
    rows = _rows(text)
    if "subject" not in (rows[0] if rows else {"subject": ""}):
        raise ServiceError(_("The header must name a subject column."), "file")
    op = current_op()
    op.source = "import"
    actor = current_actor()
    results = []
    for line, row in enumerate(rows, start=2):
        data: dict[str, Any] = {k: v for k, v in row.items() if k in CREATE_COLUMNS and k != "assignee" and v}
        try:
            if row.get("assignee"):
                data["assignee_id"] = _user_id(row["assignee"], actor)
            case = services.create_case(WORKFLOW, data)
        except NotAllowed:
            raise
        except ServiceError as exc:
            results.append(RowResult(line, row.get("subject", ""), False, exc.message))
            continue
        results.append(RowResult(line, case.subject, True, _("created"), case.id))
    op.params.update(count=sum(r.changed for r in results), refused=sum(not r.changed for r in results))
    return results


def _user_id(username: str, actor: Any) -> int:
    user = db.session.scalar(select(User).where(User.username == username, User.class_id == actor.class_id))
    if user is None:
        raise ServiceError(_("No user “%(name)s” in your class.", name=username), "assignee")
    return user.id


def state_of(text: str) -> str | None:
    """A visit order's state from its code or its label in either language."""
    wf = services.graph_of(WORKFLOW).workflow
    wanted = text.strip().lower()
    for s in wf.states:
        if wanted in (s.name, s.label.zh.lower(), s.label.en.lower()):
            return s.name
    return None


def pairs_from_csv(text: str) -> list[tuple[int, Any, str]]:
    """(line, case id, target state) from a CSV with the columns id and state (code or label)."""
    pairs = []
    for line, row in enumerate(_rows(text), start=2):
        raw = row.get("id", "")
        ident = int(raw) if raw.isdigit() and len(raw) < 10 else raw
        pairs.append((line, ident, state_of(row.get("state", "")) or row.get("state", "")))
    return pairs


@operation("case.bulk_transition")
def change_status(pairs: list[tuple[int, Any, str]], from_file: bool = False) -> list[RowResult]:
    """Move each listed visit order to its state with the one transition service; a per-row report."""
    op = current_op()
    if from_file:
        op.source = "import"
    wf = services.graph_of(WORKFLOW).workflow
    results = []
    for line, ident, to in pairs:
        case = db.session.scalar(select(Case).where(Case.id == ident, Case.workflow == WORKFLOW)) \
            if isinstance(ident, int) and 0 < ident < 2**31 else None
        if case is None:
            results.append(RowResult(line, str(ident), False, _("No visit order #%(id)s that you can see.", id=ident)))
            continue
        if wf.state(to) is None:
            results.append(RowResult(line, case.subject, False, _("Unknown state “%(state)s”.", state=to), case.id))
            continue
        if case.state == to:
            results.append(RowResult(line, case.subject, False,
                                     _("Already “%(state)s”.", state=rules.state_label(wf, to)), case.id))
            continue
        try:
            services.transition_case(case, to)
        except NotAllowed:
            results.append(RowResult(line, case.subject, False, _("You may not change this visit order."), case.id))
            continue
        except ServiceError as exc:
            results.append(RowResult(line, case.subject, False, exc.message, case.id))
            continue
        results.append(RowResult(line, case.subject, True, _("moved to “%(state)s”", state=rules.state_label(wf, to)),
                                 case.id))
    op.params.update(changed=sum(r.changed for r in results), refused=sum(not r.changed for r in results))
    return results
