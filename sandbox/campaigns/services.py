"""Campaign services: the campaign's own rules, its members (one by one, by filter, by CSV), and its figures.

Members are not `Owned` records: they are visible exactly when their campaign is, so every member query
starts from a campaign the page loaded through the permission door, and a person is only ever added when
the viewer may see them (`visible_or_none`). Every change is an operation logged on the campaign, so the
campaign's timeline tells its members' story.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..codes.services import choices, extra, flagged
from ..contacts.models import Contact
from ..errors import ServiceError
from ..extensions import db
from ..i18n import N_
from ..leads.models import Lead
from ..numbers import DB_INT_MAX
from ..oplog import current_actor, current_op, operation, register_verbs
from ..opportunities.models import Opportunity
from ..records.lookups import visible_or_none
from ..records.services import _check_write, create_record, update_record
from .models import Campaign, CampaignMember

MONEY_FIELDS = ("budget", "expected_revenue", "actual_cost")
MEMBER_MODELS: dict[str, Any] = {"lead": Lead, "contact": Contact}
MEMBER_LIMIT = 300  # members listed on the campaign page, newest first (the counts cover all of them)


# ---- the campaign ------------------------------------------------------------------------------------------
def clean_campaign(data: dict[str, Any]) -> dict[str, Any]:
    """The campaign's rules, for the form, import and the CLI alike: amounts not negative, the expected
    response a percentage, the end not before the start. Each refusal names its field."""
    data = dict(data)
    for name in MONEY_FIELDS:
        value = data.get(name)
        if value is not None and Decimal(value) < 0:
            raise ServiceError(_("Must not be negative."), name)
    response = data.get("expected_response")
    if response is not None and not 0 <= int(response) <= 100:
        raise ServiceError(_("Give a percentage from 0 to 100."), "expected_response")
    start, end = data.get("start_date"), data.get("end_date")
    if start and end and end < start:
        raise ServiceError(_("The end date must not be before the start date."), "end_date")
    data["status"] = data.get("status") or "planned"
    return data


def create_campaign(cls: type, data: dict[str, Any], owner: Any = None) -> Campaign:
    """Create a campaign after checking its rules (logged as campaign.create)."""
    return create_record(Campaign, clean_campaign(data), owner)


def update_campaign(obj: Campaign, data: dict[str, Any], expected_version: int | None = None) -> Campaign:
    """Save a campaign's fields after checking its rules (logged as campaign.update)."""
    return update_record(obj, clean_campaign(data), expected_version=expected_version)


# ---- members -------------------------------------------------------------------------------------------------
def visible(model: Any, ident: Any) -> Any:
    """The record if the viewer may see it; None for no id, an id beyond any database integer, or an invisible one."""
    if not isinstance(ident, int) or not 0 < ident <= DB_INT_MAX:
        return None
    return visible_or_none(model, ident)


def _writable(campaign: Campaign) -> None:
    """Members change only on a campaign the actor may change and that is not in the recycle bin."""
    _check_write(campaign)
    if campaign.is_deleted:
        raise ServiceError(_("This record is in the recycle bin; restore it before editing."))


def _check_status(status: str | None, field_name: str = "status") -> str:
    status = status or "planned"
    if status not in dict(choices("member_status", status)):
        raise ServiceError(_("Choose a response status from the list."), field_name)
    return status


def is_responded(status: str | None, class_id: int | None = None) -> bool:
    """Whether a member status counts as a response (the code table's `responded` extra)."""
    return bool(extra("member_status", status, class_id).get("responded"))


def person_of(member: CampaignMember) -> Any:
    """The member's lead or contact if the viewer may see it, else None."""
    kind = "lead" if member.lead_id else "contact"
    return visible_or_none(MEMBER_MODELS[kind], member.lead_id or member.contact_id)


def member_kind(member: CampaignMember) -> str:
    """"lead" or "contact"."""
    return "lead" if member.lead_id else "contact"


def find_member(campaign: Campaign, kind: str, ident: int) -> CampaignMember | None:
    """The campaign's member for this lead or contact, else None."""
    column = CampaignMember.lead_id if kind == "lead" else CampaignMember.contact_id
    return db.session.scalar(select(CampaignMember).where(CampaignMember.campaign_id == campaign.id,
                                                          column == ident))


def _new_member(campaign: Campaign, kind: str, person: Any, status: str) -> CampaignMember:
    actor = current_actor()
    member = CampaignMember(campaign_id=campaign.id, status=status, added_by_id=getattr(actor, "id", None),
                            **{f"{kind}_id": person.id})
    if is_responded(status, campaign.class_id):
        from ..clock import utcnow

        member.responded_at = utcnow()
    db.session.add(member)
    return member


@operation("campaign.add_member")
def add_member(campaign: Campaign, kind: str, ident: int | None, status: str | None = None) -> CampaignMember:
    """Add one visible lead or contact to the campaign; one already in it is refused by name."""
    _writable(campaign)
    if kind not in MEMBER_MODELS:
        raise ServiceError(_("Choose lead or contact."), "member_type")
    field_name = f"{kind}_id"
    person = visible(MEMBER_MODELS[kind], ident)
    if person is None:
        raise ServiceError(_("Choose a lead you can see.") if kind == "lead" else _("Choose a contact you can see."),
                           field_name)
    status = _check_status(status)
    if find_member(campaign, kind, person.id) is not None:
        raise ServiceError(_("%(name)s is already a member of this campaign.", name=person.audit_label), field_name)
    member = _new_member(campaign, kind, person, status)
    current_op().target(campaign, member=person.audit_label, member_type=kind, status=status)
    return member


def matching_people(kind: str, filters: dict[str, Any]) -> list[Any]:
    """The visible leads (by status, source, industry) or contacts (of an account) a filter selects."""
    if kind == "lead":
        stmt = select(Lead)
        for name, column in (("lead_status", Lead.status), ("lead_source", Lead.source),
                             ("industry", Lead.industry)):
            if filters.get(name):
                stmt = stmt.where(column == filters[name])
        return list(db.session.scalars(stmt.order_by(Lead.id)))
    if kind == "contact":
        stmt = select(Contact)
        if filters.get("account_id"):
            stmt = stmt.where(Contact.account_id == filters["account_id"])
        return list(db.session.scalars(stmt.order_by(Contact.id)))
    raise ServiceError(_("Choose lead or contact."), "member_type")


@operation("campaign.add_members")
def add_matching(campaign: Campaign, kind: str, filters: dict[str, Any]) -> tuple[int, int]:
    """Add every visible lead or contact a filter selects; those already in are skipped, not doubled.
    Returns (added, already members)."""
    _writable(campaign)
    if kind == "contact" and filters.get("account_id"):
        from ..accounts.models import Account

        if visible(Account, filters["account_id"]) is None:
            raise ServiceError(_("Choose an account you can see."), "account_id")
    people = matching_people(kind, filters)
    if not people:
        raise ServiceError(_("Nobody you can see matches this filter."), "member_type")
    column = CampaignMember.lead_id if kind == "lead" else CampaignMember.contact_id
    present = set(db.session.scalars(select(column).where(CampaignMember.campaign_id == campaign.id,
                                                          column.is_not(None))))
    added = [p for p in people if p.id not in present]
    for person in added:
        _new_member(campaign, kind, person, "planned")
    current_op().target(campaign, member_type=kind, added=len(added), skipped=len(people) - len(added))
    return len(added), len(people) - len(added)


def _member_of(campaign: Campaign, member: CampaignMember | None) -> CampaignMember:
    if member is None or member.campaign_id != campaign.id:
        raise ServiceError(_("This member is not in the campaign."))
    return member


def member_label(member: CampaignMember) -> str:
    """The member as the log and the page name them (a person the viewer cannot see: by type and number)."""
    person = person_of(member)
    return person.audit_label if person is not None else member.audit_label


@operation("campaign.update_member")
def update_member(campaign: Campaign, member: CampaignMember | None, status: str | None) -> CampaignMember:
    """Change a member's response status (a response stamps when it came)."""
    _writable(campaign)
    member = _member_of(campaign, member)
    status = _check_status(status)
    before = member.status
    if status != before:
        member.status = status
        from ..clock import utcnow

        member.responded_at = (member.responded_at or utcnow()) if is_responded(status, campaign.class_id) else None
    current_op().target(campaign, member=member_label(member), old_status=before, status=status)
    return member


@operation("campaign.remove_member")
def remove_member(campaign: Campaign, member: CampaignMember | None) -> None:
    """Take a member out of the campaign (the lead or contact itself stays)."""
    _writable(campaign)
    member = _member_of(campaign, member)
    current_op().target(campaign, member=member_label(member), member_type=member_kind(member))
    db.session.delete(member)


# ---- CSV import of members: checked whole, then added all or nothing --------------------------------------
@dataclass
class MemberRow:
    """One row of a members file, resolved to a visible person (or with the reason it cannot be)."""

    line: int
    kind: str
    person: Any = None
    status: str = "planned"
    error: str | None = None


@dataclass
class MemberImportCheck:
    """The rows of a members file and whether every one of them can be added."""

    rows: list[MemberRow] = field(default_factory=list)
    problem: str | None = None  # about the file as a whole (its columns)

    @property
    def errors(self) -> list[MemberRow]:
        """The rows that cannot be added."""
        return [r for r in self.rows if r.error]

    @property
    def ok(self) -> bool:
        """Every row can be added (and there is at least one)."""
        return self.problem is None and bool(self.rows) and not self.errors


HEADERS = {
    "type": ("type", "member_type", "类型", "成员类型"),
    "id": ("id", "编号"),
    "email": ("email", "e-mail", "邮箱", "电子邮件"),
    "name": ("name", "姓名", "名称"),
    "status": ("status", "response", "响应", "响应状态", "状态"),
}
KIND_WORDS = {"lead": "lead", "leads": "lead", "线索": "lead", "潜在客户": "lead",
              "contact": "contact", "contacts": "contact", "联系人": "contact"}


def _columns(header: list[str]) -> dict[str, int]:
    found = {}
    for index, title in enumerate(header):
        for key, names in HEADERS.items():
            if title.strip().lower() in names and key not in found:
                found[key] = index
    return found


NOT_FOUND = {"lead": N_("No lead you can see matches “%(v)s”."),
             "contact": N_("No contact you can see matches “%(v)s”.")}
AMBIGUOUS = {"lead": N_("Several leads you can see match “%(v)s”; give the id."),
             "contact": N_("Several contacts you can see match “%(v)s”; give the id.")}


def _resolve(kind: str, cells: dict[str, str]) -> tuple[Any, str | None]:
    """The visible person a row names by id, else email, else name (exactly one), with the reason if none."""
    model = MEMBER_MODELS[kind]
    if cells.get("id"):
        raw = cells["id"]
        if not raw.isdigit() or len(raw) > 9:
            return None, _("“%(v)s” is not an id.", v=raw[:40])
        person = visible(model, int(raw))
        return person, None if person else _(NOT_FOUND[kind], v=raw)
    for key, column in (("email", model.email), ("name", model.name)):
        value = cells.get(key)
        if not value:
            continue
        found = list(db.session.scalars(select(model).where(func.lower(column) == value.lower()).limit(2)))
        if len(found) == 1:
            return found[0], None
        return None, _(NOT_FOUND[kind] if not found else AMBIGUOUS[kind], v=value[:80])
    return None, _("Give the id, the email or the name.")


def check_member_rows(campaign: Campaign, header: list[str], rows: list[tuple[int, list[str]]]) -> MemberImportCheck:
    """Resolve every row of a members file (visible people only) and say what is wrong with each."""
    check = MemberImportCheck()
    columns = _columns(header)
    if "type" not in columns or not ({"id", "email", "name"} & columns.keys()):
        check.problem = _("The file needs a “type” column (lead or contact) and an “id”, “email” or “name” column.")
        return check
    seen: set[tuple[str, int]] = set()
    statuses = dict(choices("member_status"))
    labels = {label.lower(): code for code, label in statuses.items()}
    for line, raw in rows:
        cells = {key: (raw[i].strip() if i < len(raw) else "") for key, i in columns.items()}
        kind = KIND_WORDS.get(cells["type"].lower())
        row = MemberRow(line, kind or "")
        check.rows.append(row)
        if kind is None:
            row.error = _("Type must be lead or contact, not “%(v)s”.", v=cells["type"][:40])
            continue
        status = cells.get("status") or "planned"
        row.status = status if status in statuses else labels.get(status.lower(), "")
        if not row.status:
            row.error = _("“%(v)s” is not a response status.", v=status[:40])
            continue
        row.person, row.error = _resolve(kind, cells)
        if row.person is None:
            continue
        key = (kind, row.person.id)
        if key in seen:
            row.error = _("%(name)s appears twice in the file.", name=row.person.audit_label)
        elif find_member(campaign, kind, row.person.id) is not None:
            row.error = _("%(name)s is already a member of this campaign.", name=row.person.audit_label)
        seen.add(key)
    if not check.rows:
        check.problem = _("The file has no rows.")
    return check


@operation("campaign.import_members")
def import_members(campaign: Campaign, check: MemberImportCheck) -> int:
    """Add every row of a checked members file, all or nothing (a file with any bad row adds nobody)."""
    _writable(campaign)
    if not check.ok:
        raise ServiceError(_("Correct the rows listed below and import the file again; nobody was added."), "file")
    for row in check.rows:
        _new_member(campaign, row.kind, row.person, row.status)
    current_op().target(campaign, added=len(check.rows))
    return len(check.rows)


# ---- figures ---------------------------------------------------------------------------------------------------
@dataclass
class Figures:
    """What the campaign page shows: members by response, leads and deals it produced, ROI."""

    by_status: list[tuple[str, str, int]]  # (code, label, members)
    members: int
    responded: int
    leads: int
    opportunities: int
    won: int
    won_amount: Decimal
    actual_cost: Decimal | None
    roi: Decimal | None  # percent, one decimal
    roi_reason: str | None  # why there is no ROI

    @property
    def response_rate(self) -> Decimal | None:
        """Responded members per hundred members."""
        if not self.members:
            return None
        return (Decimal(self.responded * 100) / self.members).quantize(Decimal("0.1"))

    @property
    def funnel(self) -> list[int]:
        """Members → responded → leads → opportunities → won."""
        return [self.members, self.responded, self.leads, self.opportunities, self.won]


def roi_of(won_amount: Decimal, cost: Decimal | None) -> tuple[Decimal | None, str | None]:
    """ROI = (won − actual cost) ÷ actual cost, in percent; None with the reason when there is no cost."""
    if cost is None:
        return None, _("No actual cost recorded yet.")
    if cost == 0:
        return None, _("The actual cost is zero, so the return cannot be divided by it.")
    return ((Decimal(won_amount) - cost) * 100 / cost).quantize(Decimal("0.1")), None


def won_stages() -> list[str]:
    """The opportunity stages the code table marks won."""
    return flagged("opportunity_stage", "won") or ["closed_won"]


def figures(campaign: Campaign) -> Figures:
    """The campaign's figures; leads and opportunities are counted through the visibility rule."""
    counts = dict(db.session.execute(
        select(CampaignMember.status, func.count(CampaignMember.id))
        .where(CampaignMember.campaign_id == campaign.id).group_by(CampaignMember.status)).all())
    by_status = [(code, label, counts.pop(code, 0)) for code, label in choices("member_status")]
    by_status += [(code, code, n) for code, n in sorted(counts.items())]  # codes since retired
    responded = sum(n for code, _label, n in by_status if is_responded(code, campaign.class_id))
    leads = db.session.scalar(select(func.count(Lead.id)).where(Lead.campaign_id == campaign.id)) or 0
    opp_count, won_count, won_amount = db.session.execute(
        select(func.count(Opportunity.id),
               func.count(Opportunity.id).filter(Opportunity.stage.in_(won_stages())),
               func.coalesce(func.sum(Opportunity.amount).filter(Opportunity.stage.in_(won_stages())), 0))
        .where(Opportunity.campaign_id == campaign.id)).one()
    won_amount = Decimal(str(won_amount)).quantize(Decimal("0.01"))
    roi, reason = roi_of(won_amount, campaign.actual_cost)
    return Figures(by_status, sum(n for *_c, n in by_status), responded, leads, opp_count or 0, won_count or 0,
                   won_amount, campaign.actual_cost, roi, reason)


def members_of(campaign: Campaign, status: str | None = None) -> list[CampaignMember]:
    """The campaign's members (newest first), optionally of one response status."""
    stmt = select(CampaignMember).where(CampaignMember.campaign_id == campaign.id)
    if status:
        stmt = stmt.where(CampaignMember.status == status)
    return list(db.session.scalars(stmt.order_by(CampaignMember.added_at.desc(), CampaignMember.id.desc())
                                   .limit(MEMBER_LIMIT)))


def people_labels(members: list[CampaignMember]) -> dict[tuple[str, int], str]:
    """(kind, id) -> the label of each member the viewer may see, in two queries (no N+1)."""
    out: dict[tuple[str, int], str] = {}
    for kind, model in MEMBER_MODELS.items():
        ids = [getattr(m, f"{kind}_id") for m in members if getattr(m, f"{kind}_id")]
        if ids:
            for ident, name in db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all():
                out[(kind, ident)] = name
    return out


register_verbs({
    "campaign.create": N_("created campaign %(label)s"),
    "campaign.update": N_("edited campaign %(label)s"),
    "campaign.transfer": N_("transferred campaign %(label)s from %(old_owner)s to %(new_owner)s"),
    "campaign.delete": N_("deleted campaign %(label)s"),
    "campaign.restore": N_("restored campaign %(label)s"),
    "campaign.add_member": N_("added %(member)s to campaign %(label)s"),
    "campaign.add_members": N_("added %(added)s members to campaign %(label)s"),
    "campaign.update_member": N_("changed the response of %(member)s in campaign %(label)s"),
    "campaign.remove_member": N_("removed %(member)s from campaign %(label)s"),
    "campaign.import_members": N_("imported %(added)s members into campaign %(label)s"),
})
