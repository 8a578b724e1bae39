"""Quota and forecast services: set a quota (form, CSV import, scenario defaults), submit a forecast.

Every change is an `@operation`: `quota.set` (setting again replaces the amount: an update with before and
after) and `forecast.submit` (submitting again replaces the figures: an update, logged as the first one).
A quota is set by a superior only: someone on a position above the salesperson (a manager over their
department, an instructor over the class) or an administrator, never by the salesperson themselves.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..access import Viewer, current_viewer
from ..clock import today
from ..errors import NotAllowed, ServiceError
from ..extensions import db
from ..fiscal import Quarter, fiscal_start, parse_quarter
from ..i18n import N_
from ..log import render as log_render
from ..oplog import current_actor, current_op, operation, register_verbs
from ..org.models import Role, Status, User
from .figures import figures_by_owner, opportunity_lines
from .models import ForecastSubmission, Quota

MAX_AMOUNT = Decimal("99999999999999.99")  # Numeric(16, 2)
MAX_IMPORT_ROWS = 5000


class QuotaError(ServiceError):
    """A quota that cannot be set; `problems` lists the rows of an import that were refused."""

    def __init__(self, message: str, field: str | None = None, problems: list[str] | None = None) -> None:
        super().__init__(message, field)
        self.problems = problems or []


def parse_amount(raw: Any) -> Decimal:
    """An amount of money as typed (`12,500.5`): not negative, at most 2 decimals; QuotaError otherwise."""
    text = str(raw if raw is not None else "").strip().replace(",", "").replace("，", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise QuotaError(_("Enter the amount as a number, such as 50000 or 50000.00."), "amount") from None
    if not amount.is_finite():
        raise QuotaError(_("Enter the amount as a number, such as 50000 or 50000.00."), "amount")
    if amount < 0:
        raise QuotaError(_("A quota cannot be negative."), "amount")
    if amount > MAX_AMOUNT:
        raise QuotaError(_("The amount is too large."), "amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise QuotaError(_("An amount has at most 2 decimals."), "amount")
    return amount.quantize(Decimal("0.01"))


def read_quarter(raw: Any, field: str = "quarter") -> Quarter:
    """A quarter as typed (`2026-Q3`) in the organisation's fiscal calendar; QuotaError otherwise."""
    quarter = parse_quarter(str(raw or ""), fiscal_start())
    if quarter is None:
        raise QuotaError(_("Write the quarter as YEAR-Q1 … YEAR-Q4, such as 2026-Q3."), field)
    return quarter


def settable_users(viewer: Any = None) -> list[User]:
    """The salespeople whose quotas the viewer may set: active students below the viewer's position."""
    viewer = viewer if viewer is not None else current_viewer()
    if not isinstance(viewer, Viewer) or viewer.is_readonly:
        return []
    stmt = select(User).where(User.role == Role.STUDENT, User.status == Status.ACTIVE)
    if not viewer.is_admin:
        ids = sorted(viewer.subordinate_ids - {viewer.user_id})
        if not ids:
            return []
        stmt = stmt.where(User.id.in_(ids))
    return list(db.session.scalars(stmt.order_by(User.display_name, User.id)))


def _may_set(viewer: Any, user: User) -> bool:
    if not isinstance(viewer, Viewer) or viewer.is_readonly or user.id == viewer.user_id:
        return False
    if user.role != Role.STUDENT or user.status != Status.ACTIVE:
        return False
    return viewer.is_admin or user.id in viewer.subordinate_ids


def find_user(username: str) -> User:
    """The salesperson named `username` whose quota the viewer may set; QuotaError for anyone else.

    Unknown users and users the setter is not above get the same answer, so the form reveals nobody.
    """
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not _may_set(current_viewer(), user):
        raise QuotaError(_("“%(name)s” is not a salesperson below you: you can set quotas only for people below "
                           "your position.", name=(username or "").strip()[:64]), "username")
    return user


def existing_quota(user_id: int, quarter: Quarter) -> Quota | None:
    """The quota of a salesperson for a quarter, if one is set (and visible to the viewer)."""
    return db.session.scalar(select(Quota).where(
        Quota.owner_id == user_id, Quota.fiscal_year == quarter.year, Quota.quarter == quarter.quarter))


@operation("quota.set")
def set_quota(user: User, quarter: Quarter, amount: Decimal) -> Quota:
    """Set (or replace) a salesperson's quota for a quarter; only their superiors may."""
    actor = current_actor()
    if actor is None or not actor.can_change:
        raise NotAllowed(_("You cannot change data."))
    if not _may_set(current_viewer(), user):
        raise QuotaError(_("You can set quotas only for the salespeople below your position."), "username")
    amount = parse_amount(amount)
    quota = existing_quota(user.id, quarter)
    if quota is None:
        quota = Quota(owner_id=user.id, class_id=user.class_id, created_by_id=actor.id, fiscal_year=quarter.year,
                      quarter=quarter.quarter, amount=amount)
        db.session.add(quota)
    else:
        quota.amount = amount
    current_op().target(quota, user=user.display_name, quarter=quarter.key, amount=str(amount))
    return quota


@dataclass
class QuotaRow:
    """One valid row of a quota import."""

    user: User
    quarter: Quarter
    amount: Decimal


def check_import(text: str) -> tuple[list[QuotaRow], list[str]]:
    """Read a quota CSV (username, quarter, amount; a header row) into rows and per-row problems."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows: list[QuotaRow] = []
    problems: list[str] = []
    header = next(reader, None)
    wanted = ["username", "quarter", "amount"]
    if header is None or [h.strip().lower() for h in header[:3]] != wanted:
        return [], [_("The first row must name the columns: username, quarter, amount.")]
    seen: dict[tuple[int, int, int], int] = {}
    for number, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if number > MAX_IMPORT_ROWS + 1:
            problems.append(_("At most %(n)d rows can be imported at once.", n=MAX_IMPORT_ROWS))
            break
        if len(raw) < 3:
            problems.append(_("Row %(row)d: expected username, quarter and amount.", row=number))
            continue
        try:
            user = find_user(raw[0])
            quarter = read_quarter(raw[1])
            amount = parse_amount(raw[2])
        except QuotaError as exc:
            problems.append(_("Row %(row)d: %(problem)s", row=number, problem=exc.message))
            continue
        key = (user.id, quarter.year, quarter.quarter)
        if key in seen:
            problems.append(_("Row %(row)d: %(name)s already has a quota for %(quarter)s in row %(first)d.",
                              row=number, name=user.username, quarter=quarter.key, first=seen[key]))
            continue
        seen[key] = number
        rows.append(QuotaRow(user, quarter, amount))
    if not rows and not problems:
        problems.append(_("The file has no quota rows."))
    return rows, problems


def import_quotas(text: str) -> int:
    """Set every quota of a CSV, or none: any refused row refuses the whole file (with every row's problem)."""
    rows, problems = check_import(text)
    if problems:
        raise QuotaError(_("Nothing was imported: correct these rows and import the file again."), "file", problems)
    for row in rows:
        set_quota(row.user, row.quarter, row.amount)
    return len(rows)


def latest_submission(user_id: int, quarter: Quarter) -> ForecastSubmission | None:
    """A salesperson's submitted forecast for a quarter (the latest replaces earlier ones), if visible."""
    return db.session.scalar(select(ForecastSubmission).where(
        ForecastSubmission.owner_id == user_id, ForecastSubmission.fiscal_year == quarter.year,
        ForecastSubmission.quarter == quarter.quarter))


@operation("forecast.submit")
def submit_forecast(quarter: Quarter) -> ForecastSubmission:
    """Freeze the acting salesperson's figures for a quarter; submitting again replaces them (an update)."""
    from ..clock import utcnow
    from ..fiscal import quarter_of

    actor = current_actor()
    if actor is None or not actor.can_change:
        raise NotAllowed(_("You cannot change data."))
    if quarter < quarter_of(today(), quarter.start_month):
        raise QuotaError(_("%(quarter)s is over: forecast the current quarter or a later one.", quarter=quarter.key),
                         "quarter")
    figures = figures_by_owner([actor.id], quarter)[actor.id]
    values = {"quota": figures.quota, "closed_won": figures.closed_won, "commit": figures.commit,
              "best_case": figures.best_case, "pipeline": figures.pipeline,
              "detail": opportunity_lines(actor.id, quarter), "submitted_at": utcnow()}
    submission = latest_submission(actor.id, quarter)
    if submission is None:
        submission = ForecastSubmission(owner_id=actor.id, class_id=actor.class_id, created_by_id=actor.id,
                                        fiscal_year=quarter.year, quarter=quarter.quarter, **values)
        db.session.add(submission)
    else:
        for key, value in values.items():
            setattr(submission, key, value)
    # The figures go in the params too: an objective reads a submission's commit from its entry, so a later
    # submission after the deadline cannot change what was submitted before it.
    current_op().target(submission, quarter=quarter.key, commit=str(figures.commit),
                        best_case=str(figures.best_case), closed_won=str(figures.closed_won))
    return submission


# How the operation log names these objects, actions and fields in the reader's language.
log_render.TYPES.update({"quota": N_("Quota"), "forecast": N_("Forecast")})
log_render.ACTIONS.setdefault("submit", N_("submit"))
log_render.FIELD_LABELS.update({
    "amount": N_("Amount"), "quota": N_("Quota"), "closed_won": N_("Closed won"),
    "commit": N_("Commit (expected total)"), "best_case": N_("Best case (best total)"), "pipeline": N_("Pipeline"),
    "submitted_at": N_("Submitted"), "fiscal_year": N_("Fiscal year"), "quarter": N_("Quarter"),
})
log_render.MONEY_PARAMS.update({"amount", "commit", "best_case", "closed_won"})

register_verbs({
    "quota.set": N_("set the quota of %(user)s for %(quarter)s to %(amount)s"),
    "forecast.submit": N_("submitted the forecast for %(quarter)s: commit %(commit)s, best case %(best_case)s"),
})
