"""The route × role matrix (SPEC §4.5, §10.4): every URL rule, visited as every kind of user.

Every rule of `app.url_map` must be classified in ROUTES (`sandbox/route_access.py`, which also writes
the "who may open it" column of docs/ROUTES.md); a rule added later without a classification fails
`test_every_rule_is_classified` (and the matrix) with its name. VISITS below says how to build a request
for each rule and method; the expected status follows from the classification and the persona:

* anonymous (and a pending user, who cannot sign in) → 302 to /auth/login, except public rules;
* a record the persona may not read → 404 (existence is not leaked);
* a write the persona may not make (read-only observer) → 403;
* staff-only /admin/* → 403 for students and observers; another instructor's object → 404;
* everything else → the rule's normal answer (200, or 302 after a successful POST).

Denied POSTs must also leave their object unchanged.
"""

from __future__ import annotations

import functools
import inspect
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote, urlparse

import pytest
from sqlalchemy import select

from sandbox.cases.models import Case
from sandbox.codes.models import CodeValue
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.org.models import Position, PositionKind, Role, SharingGroup, SharingGroupMember, Status, User
from sandbox.records.models import Attachment, Note
from sandbox.records.views import RecordViews
from sandbox.route_access import (
    GENERIC_RECORD_PAGES,
    OPPORTUNITY_ITEMS,
    ROUTES,
    Access,
    record_blueprints,
)
from tests.conftest import PASSWORD, act_as
from tests.helpers import count

ANONYMOUS = ("anonymous", "pendingA")
PERSONAS = ("anonymous", "pendingA", "studentA", "studentB", "peerA", "managerA", "teacher2", "readonlyA",
            "teacher", "admin")
STAFF = {"teacher", "teacher2", "admin"}
# Who reads / writes the lead owned by studentA (class A, salesperson position in department A1).
LEAD_READERS = {"studentA", "managerA", "readonlyA", "teacher", "admin"}
LEAD_WRITERS = {"studentA", "managerA", "teacher", "admin"}
# Records can also belong to class C (teacher2's): nobody of class A nor their instructor reads them.
OWNERS: dict[str, tuple[set[str], set[str]]] = {
    "studentA": (LEAD_READERS, LEAD_WRITERS),
    "studentC": ({"teacher2", "admin"}, {"teacher2", "admin"}),
}
# Who manages class A's positions, users and sharing groups.
CLASS_A_STAFF = {"teacher", "admin"}
# Who reads class A's teaching pages (activity, gradebook): its staff and its read-only observer.
CLASS_A_READERS = CLASS_A_STAFF | {"readonlyA"}
# Competitors and products are read by the whole class; products are maintained by the class's staff.
CLASS_READABLE = {"competitor", "product"}
STAFF_MAINTAINED = {"product"}
# Articles are class-readable once published; a student's own is a suggestion only staff and observers read.
SUGGESTED_UNTIL_PUBLISHED = {"article"}
CLASSMATES = {"studentA": {"peerA", "managerA", "readonlyA"}, "studentC": set()}
CLASS_STAFF = {"studentA": ("teacher", {"teacher", "admin"}), "studentC": ("teacher2", {"teacher2", "admin"})}


def record_people(kind: str | None, owner: str) -> tuple[set[str], set[str]]:
    """Who reads and who writes a record of `kind` belonging to `owner`'s book (or class, for products)."""
    readers, writers = OWNERS[owner]
    if kind in CLASS_READABLE:
        readers = readers | CLASSMATES[owner]
    if kind in STAFF_MAINTAINED:
        writers = CLASS_STAFF[owner][1]
    if kind in SUGGESTED_UNTIL_PUBLISHED:
        # A student's suggestion: its author and those who read every status (staff, observer), not a superior.
        readers, writers = readers - {"managerA"}, writers - {"managerA"}
    return readers, writers

LOGIN = "login"  # expectation: 302 to the sign-in page


@dataclass
class Visit:
    """One request of the matrix and what an allowed persona gets back."""

    path: str
    data: dict[str, Any] | None = None
    ok: int = 200
    # Persona -> status that replaces the computed expectation (e.g. a form refusing another class's id).
    overrides: dict[str, int | str] = field(default_factory=dict)
    # Asserted when the persona was refused: the object the request aimed at did not change.
    unchanged: Callable[[], bool] | None = None
    # Run after every other visit of this persona (sign-out ends the persona's session).
    last: bool = False
    # (text, expected): on an allowed answer, the page shows `text` exactly when `expected`.
    shows: tuple[str, bool] | None = None


@dataclass(frozen=True)
class RecordType:
    """A business record type served by the generic record pages (records/views.py)."""

    audit_type: str
    data: dict[str, Any]  # minimal fields for its create service
    form: dict[str, str]  # minimal valid form besides the name (new, edit, clone)
    name_field: str = "name"  # the field holding the record's name (activities: subject)


# Blueprint -> how to make a record of its type (sandbox/route_access.py classifies its generic pages).
RECORD_TYPES: dict[str, RecordType] = {
    "leads": RecordType("lead", {"name": "Li Lei", "company": "Tea Co.", "status": "new"}, {"status": "new"}),
    "accounts": RecordType("account", {"name": "Tea Co."}, {}),
    "contacts": RecordType("contact", {"name": "Han Meimei"}, {}),
    "opportunities": RecordType("opportunity",
                                {"name": "Tea deal", "stage": "prospecting", "close_date": date(2030, 1, 1)},
                                {"stage": "prospecting", "close_date": "2030-01-01"}),
    "activities": RecordType("activity", {"kind": "task", "subject": "Call back", "due_date": date(2030, 1, 1)},
                             {"kind": "task", "due_date": "2030-01-01"}, name_field="subject"),
    "competitors": RecordType("competitor", {"name": "Rival Ltd", "threat_level": "high"}, {"threat_level": "high"}),
    "campaigns": RecordType("campaign", {"name": "Spring fair", "status": "planned"}, {"status": "planned"}),
    "cases": RecordType("case", {"workflow": "feedback", "subject": "Bill too high"}, {"workflow": "feedback"},
                        name_field="subject"),
    # Products also get class_id and a fresh code from World.type_fields (created by the class's instructor).
    "products": RecordType("product", {"name": "Notebook", "list_price": 10, "active": True},
                           {"list_price": "10", "active": "y"}),
    # Articles also get the owner's class, documents a folder of it, from World.type_fields.
    "knowledge": RecordType("article", {"title": "Meter guide", "body": "Turn the *valve*."}, {"body": "text"},
                            name_field="title"),
    "documents": RecordType("document", {"title": "Boiler manual"}, {"description": "text"}, name_field="title"),
}
def expected(access: Access, persona: str, visit: Visit, owner: str = "studentA") -> int | str:
    """The status the spec gives `persona` for a request of a rule classified as `access`."""
    if persona in visit.overrides:
        return visit.overrides[persona]
    if access.kind == "public":
        return visit.ok
    if persona in ANONYMOUS:
        return LOGIN
    if access.kind == "record":
        return expected_for_record(access, persona, visit.ok, owner)
    return expected_by_role(access.kind, persona, visit.ok)


def expected_by_role(kind: str, persona: str, ok: int) -> int:
    """The status of a signed-in persona on a rule that is not about one business record."""
    if kind == "signed_in":
        return ok
    if kind == "changer":
        return 403 if persona == "readonlyA" else ok
    if kind == "staff":
        return ok if persona in STAFF else 403
    if kind == "admin":
        return ok if persona == "admin" else 403
    if kind == "staff_object":
        if persona not in STAFF:
            return 403
        return ok if persona in CLASS_A_STAFF else 404
    if kind == "teaching_reader":
        if persona not in STAFF and persona != "readonlyA":
            return 403
        return ok if persona in CLASS_A_READERS else 404
    raise AssertionError(f"unknown access kind {kind}")


def expected_for_record(access: Access, persona: str, ok: int, owner: str) -> int:
    """The status of a signed-in persona on a rule about one record of `owner`'s."""
    # Every type is private by default, so the owner alone decides who reads and writes.
    readers, writers = record_people(access.target, owner)
    if access.write and persona == "readonlyA":
        # Role decides which actions exist: an observer's write is refused before any lookup,
        # with the same 403 for every id (test_observer_writes_refused_alike checks nothing leaks).
        return 403
    if persona not in readers:
        return 404
    if access.write and persona not in writers:
        return 403
    return ok


def refused_whatever(access: Access, persona: str, owner: str) -> bool:
    """Is the persona refused by the rule's kind alone, whatever the request carries?"""
    probe = Visit("/", ok=200)
    return expected(access, persona, probe, owner) != 200


# ---- how to call each rule -----------------------------------------------------------------------

def reusable(make: Callable[..., Any]) -> Callable[..., Any]:
    """A maker of fresh objects that hands out one cached object while the world is `cheap`.

    Requests that the rule refuses whoever sends them (anonymous, invisible record, wrong role) change
    nothing, so they can share one target; only allowed requests need an object of their own.
    """

    @functools.wraps(make)
    def wrapper(self: World, *args: Any, **kwargs: Any) -> Any:
        if not self.cheap:
            return make(self, *args, **kwargs)
        key = (make.__name__, args, tuple(sorted(kwargs.items())))
        if key not in self.reused:
            self.reused[key] = make(self, *args, **kwargs)
        return self.reused[key]

    return wrapper


class World:
    """The classroom plus makers of fresh objects, so destructive requests do not interfere."""

    def __init__(self, app: Any, classroom: Any, make_lead: Any, owner: str = "studentA") -> None:
        from sandbox.org.services import create_user

        self.app = app
        self.c = classroom
        self.make_lead = make_lead
        self.owner = owner
        self.shared: dict[str, Any] = {}
        self.cheap = False
        self.reused: dict[tuple, Any] = {}
        self.class_a = classroom.classes["A"]
        self.teacher = classroom.user("teacher")
        act_as(None)
        # A user of class A that staff edit and reset (never a persona: a reset ends their sessions).
        self.victim = create_user(None, f"victim{owner}", "Victim A", PASSWORD, Role.STUDENT, classroom.positions["A2"])
        # A classmate of the owner to transfer records to.
        if owner == "studentA":
            self.transfer_to = classroom.user("peerA")
        else:
            self.transfer_to = create_user(None, "peerC", "Peer C", PASSWORD, Role.STUDENT, classroom.positions["C1"])
        db.session.commit()
        self.counter = 0

    def uid(self, name: str) -> int:
        """The id of the classroom's user `name`."""
        return self.c.user(name).id

    def fresh(self, persona: str) -> str:
        """A name nobody used before in this world."""
        self.counter += 1
        return f"{persona}-{self.counter}"

    # business records, all owned by studentA
    def views(self, blueprint: str) -> RecordViews:
        """The generic record pages (RecordViews) behind a blueprint."""
        views = getattr(inspect.unwrap(self.app.view_functions[f"{blueprint}.new"]), "__self__", None)
        assert isinstance(views, RecordViews), f"{blueprint}.new is not a generic record page"
        return views

    @reusable
    def new_record(self, blueprint: str, deleted: bool = False, **fields: Any) -> Any:
        """A fresh record through the type's own create service, owned by studentA."""
        from sandbox.records.services import delete_record

        views = self.views(blueprint)
        data = {**RECORD_TYPES[blueprint].data, **self.type_fields(blueprint), **fields}  # may make a folder first
        act_as(self.maker(blueprint))
        obj = views.create_service(views.model, data)
        if deleted:
            db.session.flush()
            delete_record(obj)
        db.session.commit()
        act_as(None)
        return obj

    def marker(self, blueprint: str) -> str:
        """The name of the owner's shared record of a type (searched for in lists and exports)."""
        return f"Shared {blueprint} of {self.owner}"

    def maker(self, blueprint: str) -> User:
        """Who creates and changes the world's records of a type: the owner, or their instructor for products."""
        if RECORD_TYPES[blueprint].audit_type in STAFF_MAINTAINED:
            return self.c.user(CLASS_STAFF[self.owner][0])
        return self.c.user(self.owner)

    def type_fields(self, blueprint: str) -> dict[str, Any]:
        """Fields a type needs besides its RecordType data (a product: the owner's class and a fresh code)."""
        if blueprint == "knowledge":
            return {"class_id": self.c.user(self.owner).class_id}
        if blueprint == "documents":
            return {"folder_id": self.owner_folder().id}
        if blueprint != "products":
            return {}
        return {"class_id": self.c.user(self.owner).class_id, "code": f"M-{self.fresh('code')}"}

    def owner_folder(self) -> Any:
        """One document folder of the owner's class, made by the owner (the world's documents are filed in it)."""
        if "folder" not in self.shared:
            self.shared["folder"] = self.new_folder(self.owner)
        return self.shared["folder"]

    @reusable
    def new_folder(self, maker: str) -> Any:
        """A fresh document folder of `maker`'s class."""
        from sandbox.documents.services import create_folder

        act_as(self.c.user(maker))
        folder = create_folder(None, f"Folder {self.fresh('folder')}")
        db.session.commit()
        act_as(None)
        return folder

    def form_fields(self, blueprint: str) -> dict[str, str]:
        """type_fields as form values."""
        return {k: str(v) for k, v in self.type_fields(blueprint).items()}

    def shared_record(self, blueprint: str) -> Any:
        """One record per type that read-only requests share."""
        if blueprint not in self.shared:
            name = {RECORD_TYPES[blueprint].name_field: self.marker(blueprint)}
            cheap, self.cheap = self.cheap, False
            self.shared[blueprint] = self.new_record(blueprint, **name)
            self.cheap = cheap
        return self.shared[blueprint]

    def shared_attachment(self, blueprint: str) -> tuple[Any, Attachment]:
        """One record with an attachment that read-only requests share."""
        key = f"{blueprint}/attachment"
        if key not in self.shared:
            cheap, self.cheap = self.cheap, False
            self.shared[key] = self.new_attachment(blueprint)
            self.cheap = cheap
        return self.shared[key]

    @reusable
    def new_note(self, blueprint: str) -> tuple[Any, Note]:
        """A fresh record of the owner with one note."""
        from sandbox.records import notes

        parent = self.new_record(blueprint)
        act_as(self.maker(blueprint))
        note = notes.add_note(parent, "To be deleted")
        db.session.commit()
        act_as(None)
        return parent, note

    @reusable
    def new_attachment(self, blueprint: str) -> tuple[Any, Attachment]:
        """A fresh record of the owner with one attached file."""
        from sandbox.records import notes

        parent = self.new_record(blueprint)
        act_as(self.maker(blueprint))
        att = notes.upload_attachment(parent, "brochure.txt", b"tea for everyone")
        db.session.commit()
        act_as(None)
        return parent, att

    @reusable
    def new_deal(self) -> dict[str, Any]:
        """A fresh opportunity of the owner with a product line, two contact roles, a partner and a competitor."""
        from decimal import Decimal

        from sandbox.opportunities import lines, parties

        opp = self.new_record("opportunities")
        # The picked records are shared by every deal (each deal lists them once).
        product, partner, competitor = (self.shared_record(b) for b in ("products", "accounts", "competitors"))
        if "second contact" not in self.shared:
            self.shared["second contact"] = self.new_record("contacts", name="Second contact")
        contacts = [self.shared_record("contacts"), self.shared["second contact"]]
        act_as(self.c.user(self.owner))
        deal = {"opp": opp, "line": lines.add_line(opp, product, Decimal("1")),
                "roles": [parties.add_contact_role(opp, c, "influencer") for c in contacts],
                "partner": parties.add_partner(opp, partner), "competitor": parties.add_competitor(opp, competitor)}
        db.session.commit()
        act_as(None)
        return deal

    @reusable
    def new_category(self) -> Any:
        """A fresh product category of class A."""
        from sandbox.products.services import create_category

        act_as(self.teacher)
        category = create_category(self.class_a.id, f"Category {self.fresh('cat')}", None)
        db.session.commit()
        act_as(None)
        return category

    def new_lead(self, deleted: bool = False) -> Lead:
        """A fresh lead of the owner (in the recycle bin if `deleted`)."""
        return self.new_record("leads", deleted=deleted)

    def lead_unchanged(self, obj: Any) -> Callable[[], bool]:
        """Nothing about the record changed (version, owner, bin, name, status or stage)."""
        model = type(obj)

        def state(o: Any) -> tuple:
            return (o.version, o.owner_id, o.deleted_at, o.audit_label, getattr(o, "status", None),
                    getattr(o, "stage", None))

        before = state(obj)

        def check() -> bool:
            now = db.session.scalars(
                select(model).where(model.id == obj.id)
                .execution_options(skip_visibility=True, include_deleted=True, populate_existing=True)
            ).one()
            return state(now) == before

        return check

    # admin objects of class A
    @reusable
    def new_group(self, with_member: bool = False) -> SharingGroup:
        """A fresh sharing group of class A (with studentA2 as member if `with_member`)."""
        from sandbox.org.services import add_group_member, create_group

        act_as(None)
        group = create_group(self.teacher, self.class_a, f"Group {self.fresh('g')}")
        if with_member:
            add_group_member(self.teacher, group, self.c.user("studentA2"))
        db.session.commit()
        return group

    @reusable
    def new_position(self) -> Position:
        """A fresh position in department A2."""
        from sandbox.org.services import create_position

        act_as(None)
        position = create_position(None, self.c.departments["A2"], PositionKind.POSITION, f"Temp {self.fresh('p')}")
        db.session.commit()
        return position

    @reusable
    def new_pending(self, persona: str) -> User:
        """A fresh user of class A awaiting approval."""
        from sandbox.auth.services import register_user

        act_as(None)
        name = self.fresh(f"pend{persona}").replace("-", "")
        user = register_user(name, name, f"{name}@example.com", PASSWORD, self.class_a, None)
        db.session.commit()
        return user

    @reusable
    def new_code_value(self) -> CodeValue:
        """A fresh value of the lead_source code table."""
        from sandbox.codes.services import create_value

        act_as(None)
        value = create_value("lead_source", f"v{self.fresh('c')}".replace("-", "_"), "矩阵", "Matrix", 900)
        db.session.commit()
        return value

    def exists(self, model: type, ident: int) -> Callable[[], bool]:
        """A check that the row still exists."""
        return lambda: count(model, model.id == ident) == 1


def _reload(model: type, ident: int) -> Any:
    return db.session.scalars(select(model).where(model.id == ident).execution_options(populate_existing=True)).one()


def _reload_user(ident: int) -> User:
    return _reload(User, ident)


def _no_code(code: str) -> Callable[[], bool]:
    return lambda: count(CodeValue, CodeValue.code == code) == 0


VisitMaker = Callable[["World", str], Visit]
# (endpoint, method) -> the request of that rule for a persona; rules of the generic record pages, an opportunity's
# items, product categories, scenarios and the gradebook are built by the functions `visits` sends them to.
VISITS: dict[tuple[str, str], VisitMaker] = {}


def visit_of(endpoint: str, method: str = "GET") -> Callable[[VisitMaker], VisitMaker]:
    """Register the decorated function as the maker of the requests of one rule and method."""

    def register(make: VisitMaker) -> VisitMaker:
        VISITS[(endpoint, method)] = make
        return make

    return register


def page(endpoint: str, path: str, method: str = "GET", **options: Any) -> None:
    """Register a request that is the same for every persona."""
    VISITS[(endpoint, method)] = lambda w, persona: Visit(path, **options)


def signed_in_elsewhere(path: str, ok: int, data: dict[str, Any] | None = None) -> VisitMaker:
    """A sign-in or registration page: a signed-in persona is sent on (302), anyone else gets `ok`."""
    return lambda w, persona: Visit(path, data=data, ok=302 if persona not in ANONYMOUS else ok)


def visits(w: World, endpoint: str, method: str, persona: str) -> Visit:
    """The request of one rule and method for one persona (fresh objects for destructive ones)."""
    make = VISITS.get((endpoint, method))
    if make is not None:
        return make(w, persona)
    blueprint, _dot, view = endpoint.partition(".")
    if blueprint in RECORD_TYPES and view in GENERIC_RECORD_PAGES:
        return record_visit(w, blueprint, view, method, persona)
    if blueprint == "opportunities" and view in OPPORTUNITY_ITEMS:
        return opportunity_item_visit(w, view, method)
    if blueprint == "products" and view.startswith("categor"):
        return category_visit(w, view, method, persona)
    if blueprint == "scenarios":
        return scenario_visit(w, view, method)
    if blueprint == "grading":
        return grading_visit(w, view, method)
    raise KeyError((endpoint, method))


# ---- public -------------------------------------------------------------------------------------------
page("static", "/static/css/app.css")
page("bootstrap.static", "/bootstrap/static/css/bootstrap.min.css")
page("vendor_asset", "/vendor/chartjs.js")
page("health", "/healthz")
VISITS[("auth.login", "GET")] = signed_in_elsewhere("/auth/login", ok=200)
VISITS[("auth.login", "POST")] = signed_in_elsewhere("/auth/login", ok=400, data={})
VISITS[("auth.register", "GET")] = signed_in_elsewhere("/auth/register", ok=200)
VISITS[("auth.register", "POST")] = signed_in_elsewhere("/auth/register", ok=400, data={})
page("auth.language", "/auth/language/en", ok=302)

# ---- any signed-in user ---------------------------------------------------------------------------------
page("home.index", "/")
page("reports.index", "/reports/")
page("reports.family_page", "/reports/opportunities?report=won&by=owner")
page("reports.export", "/reports/opportunities/export.csv?report=won&by=owner", "POST", data={})
page("forecasts.index", "/forecasts/?quarter=2030-Q1")
# Submitting one's own forecast is a change (observers 403); a quarter to come is always accepted.
page("forecasts.submit", "/forecasts/submit", "POST", data={"quarter": "2030-Q1"}, ok=302)
# The quota pages: anyone who may change data reaches them (the service refuses whoever is above nobody).
page("forecasts.quotas", "/forecasts/quotas")
page("forecasts.quotas", "/forecasts/quotas", "POST", data={}, ok=400)
page("forecasts.quota_import", "/forecasts/quotas/import", "POST", data={}, ok=400)
# An empty form reaches the form (400) and tags nothing; an observer is refused (403) before it.
page("reports.save_segment_tag", "/reports/customers/segments", "POST", data={}, ok=400)
page("auth.logout", "/auth/logout")
page("auth.logout", "/auth/logout", "POST", data={}, ok=302, last=True)
page("auth.password", "/auth/password")
# An empty form reaches the form (400 with messages) and changes nothing.
page("auth.password", "/auth/password", "POST", data={}, ok=400)
page("auth.profile", "/auth/profile")
VISITS[("auth.profile", "POST")] = lambda w, persona: Visit(
    "/auth/profile", data={"display_name": persona, "locale": "en"}, ok=302)
page("log.index", "/log/")
page("log.export_csv", "/log/export.csv")
page("opportunities.pipeline", "/opportunities/pipeline")
page("me.progress", "/me/progress")


# ---- record pages beyond the generic ones -------------------------------------------------------------------
@visit_of("leads.convert")
def _convert_form(w: World, persona: str) -> Visit:
    return Visit(f"/leads/{w.shared_record('leads').id}/convert")


@visit_of("leads.convert", "POST")
def _convert(w: World, persona: str) -> Visit:
    fresh = w.new_lead()
    data = {"account_mode": "new", "contact_id": "0", "create_opportunity": "y", "opportunity_name": "Deal",
            "stage": "prospecting", "close_date": "2030-01-01"}
    return Visit(f"/leads/{fresh.id}/convert", data=data, ok=302, unchanged=w.lead_unchanged(fresh))


@visit_of("opportunities.stage", "POST")
def _stage(w: World, persona: str) -> Visit:
    fresh = w.new_record("opportunities")
    return Visit(f"/opportunities/{fresh.id}/stage", data={"stage": "qualification"}, ok=302,
                 unchanged=w.lead_unchanged(fresh))


@visit_of("opportunities.reopen", "POST")
def _reopen(w: World, persona: str) -> Visit:
    fresh = w.new_record("opportunities", stage="closed_won")
    return Visit(f"/opportunities/{fresh.id}/reopen", data={}, ok=302, unchanged=w.lead_unchanged(fresh))


@visit_of("activities.log_call", "POST")
def _log_call(w: World, persona: str) -> Visit:
    fresh = w.new_lead()
    return Visit("/activities/log-call", data={"related_type": "lead", "related_id": str(fresh.id)}, ok=302,
                 unchanged=_no_activity_about("lead", fresh.id))


@visit_of("activities.complete", "POST")
def _complete(w: World, persona: str) -> Visit:
    fresh = w.new_record("activities")
    return Visit(f"/activities/{fresh.id}/complete", data={}, ok=302, unchanged=w.lead_unchanged(fresh))


# ---- a campaign's members and the campaign tasks --------------------------------------------------------------
page("campaigns.tasks", "/campaigns/tasks?view=all")


def _campaign_with_member(w: World) -> tuple[Any, Any]:
    """A fresh campaign of the owner with the owner's shared lead as its one member."""
    from sandbox.campaigns.services import add_member

    # A fresh name: a reused campaign (cheap requests) would get the same member twice.
    campaign, lead = w.new_record("campaigns", name=w.fresh("campaign")), w.shared_record("leads")
    act_as(w.c.user(w.owner))
    member = add_member(campaign, "lead", lead.id, "planned")
    db.session.commit()
    act_as(None)
    return campaign, member


def _no_members(campaign: Any) -> Callable[[], bool]:
    from sandbox.campaigns.models import CampaignMember

    return lambda: count(CampaignMember, CampaignMember.campaign_id == campaign.id) == 0


@visit_of("campaigns.member_add", "POST")
def _campaign_member_add(w: World, persona: str) -> Visit:
    campaign, lead = w.new_record("campaigns"), w.shared_record("leads")
    return Visit(f"/campaigns/{campaign.id}/members/add", ok=302, unchanged=_no_members(campaign),
                 data={"member_type": "lead", "lead_id": str(lead.id), "status": "planned"})


@visit_of("campaigns.member_add_filtered", "POST")
def _campaign_member_add_filtered(w: World, persona: str) -> Visit:
    campaign, _lead = w.new_record("campaigns"), w.shared_record("leads")
    return Visit(f"/campaigns/{campaign.id}/members/add-filtered", ok=302, unchanged=_no_members(campaign),
                 data={"member_type": "lead", "lead_status": "new"})


@visit_of("campaigns.member_status", "POST")
def _campaign_member_status(w: World, persona: str) -> Visit:
    from sandbox.campaigns.models import CampaignMember

    campaign, member = _campaign_with_member(w)
    return Visit(f"/campaigns/{campaign.id}/members/{member.id}/status", data={"status": "sent"}, ok=302,
                 unchanged=lambda: _reload(CampaignMember, member.id).status == "planned")


@visit_of("campaigns.member_remove", "POST")
def _campaign_member_remove(w: World, persona: str) -> Visit:
    from sandbox.campaigns.models import CampaignMember

    campaign, member = _campaign_with_member(w)
    return Visit(f"/campaigns/{campaign.id}/members/{member.id}/remove", data={}, ok=302,
                 unchanged=w.exists(CampaignMember, member.id))


@visit_of("campaigns.member_import")
def _campaign_member_import_form(w: World, persona: str) -> Visit:
    return Visit(f"/campaigns/{w.shared_record('campaigns').id}/members/import")


@visit_of("campaigns.member_import", "POST")
def _campaign_member_import(w: World, persona: str) -> Visit:
    campaign, lead = w.new_record("campaigns"), w.shared_record("leads")
    csv = f"type,id,status\nlead,{lead.id},planned\n".encode()
    return Visit(f"/campaigns/{campaign.id}/members/import", data={"file": (io.BytesIO(csv), "members.csv")},
                 ok=302, unchanged=_no_members(campaign))
@visit_of("cases.new_for")
def _case_new_form(w: World, persona: str) -> Visit:
    return Visit("/cases/new/complaint")


@visit_of("cases.new_for", "POST")
def _case_new(w: World, persona: str) -> Visit:
    name = f"case {w.fresh(persona)}"
    return Visit("/cases/new/feedback", data={"subject": name}, ok=302, unchanged=_none_named(Case, name, "subject"))


@visit_of("cases.move")
def _case_move_form(w: World, persona: str) -> Visit:
    return Visit(f"/cases/{w.shared_record('cases').id}/move/in_progress")


@visit_of("cases.move", "POST")
def _case_move(w: World, persona: str) -> Visit:
    fresh = w.new_record("cases")
    return Visit(f"/cases/{fresh.id}/move/in_progress", data={"version": str(fresh.version)}, ok=302,
                 unchanged=w.lead_unchanged(fresh))


@visit_of("cases.solved_by", "POST")
def _case_solved_by(w: World, persona: str) -> Visit:
    fresh = w.new_record("cases")
    # No article is named: the page reaches the service, which refuses with a flash (nothing changes).
    return Visit(f"/cases/{fresh.id}/solved-by", data={"article_id": ""}, ok=302, unchanged=w.lead_unchanged(fresh))


page("cases.visit_orders", "/cases/visit-orders/")
# An empty file is refused with a message on the page (400); observers are refused (403) before it.
page("cases.visit_orders_import", "/cases/visit-orders/import", "POST", data={"csv": ""}, ok=400)
page("cases.visit_orders_status", "/cases/visit-orders/status", "POST", data={}, ok=400)


# ---- the calendar -------------------------------------------------------------------------------------------
page("calendars.index", "/calendar/?view=week&date=2030-01-01")
page("calendars.events", "/calendar/events?start=2030-01-01&end=2030-02-01")
page("calendars.feed_page", "/calendar/feed")
# Creating shows the new address on the answer (200); revoking with no feed is refused with a flash (302).
page("calendars.feed_create", "/calendar/feed/new", "POST", data={})
page("calendars.feed_revoke", "/calendar/feed/revoke", "POST", data={}, ok=302)


@visit_of("calendars.move", "POST")
def _calendar_move(w: World, persona: str) -> Visit:
    fresh = w.new_record("activities")
    return Visit(f"/calendar/events/{fresh.id}/move", data={"version": str(fresh.version), "start": "2030-01-05"},
                 unchanged=w.lead_unchanged(fresh))


@visit_of("calendars.feed")
def _calendar_feed(w: World, persona: str) -> Visit:
    # A token of a user no other visit touches (personas regenerate their own, staff edit the victim).
    if "calendar_feed" not in w.shared:
        from sandbox.calendars.services import create_feed
        from sandbox.org.services import create_user

        act_as(None)
        owner = create_user(None, f"feed{w.owner}", "Feed owner", PASSWORD, Role.STUDENT, w.c.positions["A2"])
        db.session.commit()
        act_as(owner)
        w.shared["calendar_feed"] = create_feed()
        db.session.commit()
        act_as(None)
    return Visit(f"/calendar/feed/{w.shared['calendar_feed']}.ics")


# ---- the notification inbox (personal: another user's notification is 404 to everyone else) ----------------
page("notifications.index", "/notifications/")
page("notifications.read_all", "/notifications/read-all", "POST", data={}, ok=302)


@visit_of("notifications.read", "POST")
def _notification_read(w: World, persona: str) -> Visit:
    from sandbox.notifications.models import Notification
    from sandbox.notifications.services import notify
    from sandbox.oplog import operation

    owner = db.session.scalar(select(User).where(User.username == "studentA"))
    act_as(None)
    note = operation("test.notify")(notify)([owner.id], "task.overdue", label="Call back", due="2030-01-01")[0]
    db.session.commit()
    others = {p: 404 for p in PERSONAS if p not in ANONYMOUS and p != "studentA"}
    return Visit(f"/notifications/{note.id}/read", data={}, ok=302, overrides=others,
                 unchanged=lambda: _reload(Notification, note.id).read_at is None)


# ---- staff pages (class A objects named in forms: another instructor's form refuses them) -------------------
page("admin.approvals", "/admin/approvals")
page("admin.positions", "/admin/positions")
page("admin.users", "/admin/users")
page("admin.user_new", "/admin/users/new")
page("admin.roster", "/admin/roster")
page("admin.organization", "/admin/organization")
page("admin.organization", "/admin/organization", "POST", ok=302,
     data={"name": "测试学校", "fiscal_year_start": "1", "currency": "CNY", "default_language": "zh_Hans_CN"})
page("admin.code_tables", "/admin/code-tables?table=lead_source")


@visit_of("admin.approvals", "POST")
def _approve(w: World, persona: str) -> Visit:
    pending = w.new_pending(persona)
    data = {"user_ids": [str(pending.id)], "decision": "approve", "position_id": str(w.c.positions["A2"].id),
            "role": "student"}
    return Visit("/admin/approvals", data=data, ok=302, overrides={"teacher2": 400},
                 unchanged=lambda: _reload_user(pending.id).status == Status.PENDING)


@visit_of("admin.position_add", "POST")
def _position_add(w: World, persona: str) -> Visit:
    name = f"Added {w.fresh(persona)}"
    data = {"parent_id": str(w.c.departments["A2"].id), "kind": "position", "name": name}
    return Visit("/admin/positions/add", data=data, ok=302, overrides={"teacher2": 400},
                 unchanged=_no_position_named(name))


@visit_of("admin.position_wizard", "POST")
def _position_wizard(w: World, persona: str) -> Visit:
    name = f"Wizard {w.fresh(persona)}"
    data = {"parent_id": str(w.c.teacher_node.id), "name": name, "departments": "D1"}
    return Visit("/admin/positions/wizard", data=data, ok=302, overrides={"teacher2": 400},
                 unchanged=_no_position_named(name))


@visit_of("admin.sharing")
def _sharing(w: World, persona: str) -> Visit:
    return Visit(f"/admin/sharing?class_id={w.class_a.id}", overrides={"teacher2": 404})


@visit_of("admin.sharing", "POST")
def _sharing_change(w: World, persona: str) -> Visit:
    data = {"class_id": str(w.class_a.id), "mode_lead": "private"}
    return Visit(f"/admin/sharing?class_id={w.class_a.id}", data=data, ok=302, overrides={"teacher2": 404})


@visit_of("admin.group_create", "POST")
def _group_create(w: World, persona: str) -> Visit:
    name = f"Group {w.fresh(persona)}"
    return Visit("/admin/sharing/groups", data={"class_id": str(w.class_a.id), "name": name}, ok=302,
                 overrides={"teacher2": 302}, unchanged=_no_group_named(name))


@visit_of("admin.user_new", "POST")
def _user_new(w: World, persona: str) -> Visit:
    username = f"added{w.fresh(persona).replace('-', '')}"
    data = {"username": username, "display_name": "Added Student", "role": "student",
            "position_id": str(w.c.positions["A2"].id)}
    # Another instructor's form refuses class A's position (400); the account is made with a generated password.
    return Visit("/admin/users/new", data=data, ok=200, overrides={"teacher2": 400},
                 unchanged=lambda: db.session.scalar(select(User.id).where(User.username == username)) is None)


@visit_of("admin.roster", "POST")
def _roster(w: World, persona: str) -> Visit:
    username = f"roster{w.fresh(persona).replace('-', '')}"
    csv = f"username,name,department\n{username},Roster Student,A2\n".encode()
    data = {"class_id": str(w.class_a.id), "file": (io.BytesIO(csv), "roster.csv")}
    return Visit("/admin/roster", data=data, ok=200, overrides={"teacher2": 400},
                 unchanged=lambda: db.session.scalar(select(User.id).where(User.username == username)) is None)


@visit_of("admin.code_value_add", "POST")
def _code_value_add(w: World, persona: str) -> Visit:
    code = f"m{w.fresh(persona)}".replace("-", "_").lower()
    data = {"table": "lead_source", "code": code, "label_zh": "矩阵", "label_en": "Matrix", "sort_order": "500"}
    return Visit("/admin/code-tables/add", data=data, ok=302, unchanged=_no_code(code))


@visit_of("admin.code_value_update", "POST")
def _code_value_update(w: World, persona: str) -> Visit:
    value = w.new_code_value()
    data = {"label_zh": "改", "label_en": "Changed", "sort_order": "7", "active": "y"}
    return Visit(f"/admin/code-tables/{value.id}", data=data, ok=302,
                 unchanged=lambda: _reload(CodeValue, value.id).label_en == "Matrix")


@visit_of("admin.code_value_delete", "POST")
def _code_value_delete(w: World, persona: str) -> Visit:
    value = w.new_code_value()
    return Visit(f"/admin/code-tables/{value.id}/delete", data={}, ok=302, unchanged=w.exists(CodeValue, value.id))


@visit_of("grading.activity")
def _class_activity(w: World, persona: str) -> Visit:
    return Visit(f"/grading/activity?class_id={w.class_a.id}")


# ---- staff objects of class A, by id ---------------------------------------------------------------------
@visit_of("admin.position_edit")
def _position_form(w: World, persona: str) -> Visit:
    return Visit(f"/admin/positions/{w.c.positions['A2'].id}")


@visit_of("admin.position_edit", "POST")
def _position_edit(w: World, persona: str) -> Visit:
    a2 = w.c.positions["A2"]
    return Visit(f"/admin/positions/{a2.id}", data={"name": a2.name}, ok=302)


@visit_of("admin.position_delete", "POST")
def _position_delete(w: World, persona: str) -> Visit:
    position = w.new_position()
    return Visit(f"/admin/positions/{position.id}/delete", data={}, ok=302, unchanged=w.exists(Position, position.id))


@visit_of("admin.group_add_member", "POST")
def _group_add_member(w: World, persona: str) -> Visit:
    group = w.new_group()
    return Visit(f"/admin/sharing/groups/{group.id}/members", data={"user_id": str(w.uid("studentA2"))}, ok=302,
                 unchanged=lambda: count(SharingGroupMember, SharingGroupMember.group_id == group.id) == 0)


@visit_of("admin.group_remove_member", "POST")
def _group_remove_member(w: World, persona: str) -> Visit:
    group = w.new_group(with_member=True)
    member_id = group.members[0].id
    return Visit(f"/admin/sharing/members/{member_id}/remove", data={}, ok=302,
                 unchanged=w.exists(SharingGroupMember, member_id))


@visit_of("admin.group_delete", "POST")
def _group_delete(w: World, persona: str) -> Visit:
    group = w.new_group()
    return Visit(f"/admin/sharing/groups/{group.id}/delete", data={}, ok=302, unchanged=w.exists(SharingGroup, group.id))


@visit_of("admin.user_edit")
def _user_form(w: World, persona: str) -> Visit:
    return Visit(f"/admin/users/{w.victim.id}")


@visit_of("admin.user_edit", "POST")
def _user_edit(w: World, persona: str) -> Visit:
    name = f"Edited by {persona}"
    data = {"display_name": name, "role": "student", "position_id": str(w.c.positions["A2"].id), "status": "active"}
    return Visit(f"/admin/users/{w.victim.id}", data=data, ok=302,
                 unchanged=lambda: _reload_user(w.victim.id).display_name != name)


@visit_of("admin.user_delete", "POST")
def _user_delete(w: World, persona: str) -> Visit:
    doomed = w.new_pending(persona)  # a user of class A of their own: the allowed delete anonymises them
    return Visit(f"/admin/users/{doomed.id}/delete", data={}, ok=302,
                 unchanged=lambda: _reload_user(doomed.id).username == doomed.username)


@visit_of("admin.user_password_reset", "POST")
def _password_reset(w: World, persona: str) -> Visit:
    version = _reload_user(w.victim.id).session_version
    return Visit(f"/admin/users/{w.victim.id}/password-reset", data={}, ok=200,
                 unchanged=lambda: _reload_user(w.victim.id).session_version == version)


@visit_of("knowledge.publish", "POST")
def _publish(w: World, persona: str) -> Visit:
    article = w.new_record("knowledge")  # the owner's suggestion; a student who reads it still may not publish
    return Visit(f"/knowledge/{article.id}/publish", data={}, ok=302, overrides=_not_curators(w, persona),
                 unchanged=_article_status(article.id, "suggested"))


@visit_of("knowledge.unpublish", "POST")
def _unpublish(w: World, persona: str) -> Visit:
    from sandbox.knowledge.services import publish

    # Its own name: a published article must never be the one the cheap visits share with other rules.
    article = w.new_record("knowledge", title="Published guide")
    if article.status != "published":  # cheap visits share one article
        act_as(w.c.user(CLASS_STAFF[w.owner][0]))
        publish(article)
        db.session.commit()
        act_as(None)
    # Published: the whole class reads it, and only its staff withdraw it.
    overrides = {p: 403 for p in CLASSMATES[w.owner] | {w.owner}} if w.owner == "studentA" else {}
    return Visit(f"/knowledge/{article.id}/unpublish", data={}, ok=302,
                 overrides={**overrides, "readonlyA": 403} if w.owner == "studentA" else overrides,
                 unchanged=_article_status(article.id, "published"))


def _not_curators(w: World, persona: str) -> dict[str, int]:
    """Students who may read an article (its author) get 403 on the instructors' buttons."""
    return {w.owner: 403}


def _article_status(ident: int, status: str) -> Callable[[], bool]:
    from sandbox.knowledge.models import Article

    return lambda: _reload_hidden(Article, ident).status == status


def _reload_hidden(model: type, ident: int) -> Any:
    return db.session.scalars(select(model).where(model.id == ident).execution_options(
        skip_visibility=True, include_deleted=True, populate_existing=True)).one()


@visit_of("documents.download_current")
def _download_current(w: World, persona: str) -> Visit:
    parent, _att = w.shared_attachment("documents")
    return Visit(f"/documents/{parent.id}/download")


page("documents.folder_create", "/documents/folders/new", "POST", data={"name": "Matrix folder"}, ok=302)


FOLDER_REFUSALS: dict[str, int | str] = {"studentB": 404, "teacher2": 404, "peerA": 403, "managerA": 403}


@visit_of("documents.folder_rename", "POST")
def _folder_rename(w: World, persona: str) -> Visit:
    from sandbox.documents.models import Folder

    folder = w.new_folder(w.owner)
    name = folder.name
    # Another class's folder does not exist for them; a classmate who did not make it is refused (403).
    return Visit(f"/documents/folders/{folder.id}/rename", data={"name": f"Renamed {w.fresh(persona)}"}, ok=302,
                 overrides=FOLDER_REFUSALS,
                 unchanged=lambda: _reload(Folder, folder.id).name == name)


@visit_of("documents.folder_delete", "POST")
def _folder_delete(w: World, persona: str) -> Visit:
    from sandbox.documents.models import Folder

    folder = w.new_folder(w.owner)
    return Visit(f"/documents/folders/{folder.id}/delete", data={}, ok=302, overrides=FOLDER_REFUSALS,
                 unchanged=w.exists(Folder, folder.id))


@visit_of("products.stock_move", "POST")
def _stock_move(w: World, persona: str) -> Visit:
    from sandbox.products.models import StockMovement

    product = w.new_record("products")
    return Visit(f"/products/{product.id}/stock", data={"kind": "in", "quantity": "3", "to_location": "main"}, ok=302,
                 unchanged=lambda: count(StockMovement, StockMovement.product_id == product.id) == 0)


page("products.low_stock", "/products/low-stock")


def record_page_visit(w: World, blueprint: str, view: str, persona: str) -> Visit:
    """The GET of a generic record page of one type; the record is the owner's."""
    rtype = RECORD_TYPES[blueprint]
    base = f"/{blueprint}"
    if view == "index":
        # The list (and its export, a POST below) show the owner's record exactly to those who may read it.
        # Searched for (other visits keep adding records that push it off the first page) by a part of
        # the marker, as the search box repeats what was searched.
        query = quote(w.marker(blueprint).removeprefix("Shared "))
        return Visit(f"{base}/?q={query}",
                     shows=(w.marker(blueprint), persona in record_people(rtype.audit_type, w.owner)[0]))
    if view == "recycle_bin":
        return Visit(f"{base}/recycle-bin")
    if view == "new":
        return Visit(f"{base}/new")
    if view == "import_records":
        return Visit(f"{base}/import")
    if view == "download_attachment":
        parent, att = w.shared_attachment(blueprint)
        return Visit(f"{base}/{parent.id}/attachments/{att.id}")
    suffix = "" if view == "detail" else f"/{view}"
    return Visit(f"{base}/{w.shared_record(blueprint).id}{suffix}")


def record_visit(w: World, blueprint: str, view: str, method: str, persona: str) -> Visit:
    """The generic record pages of one type; the record is studentA's."""
    rtype = RECORD_TYPES[blueprint]
    model = w.views(blueprint).model
    base = f"/{blueprint}"
    if method == "GET":
        return record_page_visit(w, blueprint, view, persona)
    if view == "export_csv":
        # The export shows the owner's record exactly to those who may read it (searched as the list is).
        query = quote(w.marker(blueprint).removeprefix("Shared "))
        return Visit(f"{base}/export.csv?q={query}", data={},
                     shows=(w.marker(blueprint), persona in record_people(rtype.audit_type, w.owner)[0]))
    if view == "export_xlsx":
        return Visit(f"{base}/export.xlsx", data={})
    if view == "import_records":
        name = f"imported {w.fresh(persona)}"
        row = {rtype.name_field: name, **rtype.form, **w.form_fields(blueprint)}
        csv = ",".join(row) + "\n" + ",".join(row.values()) + "\n"
        return Visit(f"{base}/import", data={"file": (io.BytesIO(csv.encode()), "import.csv"), "mode": "all"},
                     ok=200, unchanged=_none_named(model, name, rtype.name_field))
    if view == "add_note":
        parent, body = w.shared_record(blueprint), f"note {w.fresh(persona)}"
        return Visit(f"{base}/{parent.id}/notes", data={"body": body}, ok=302,
                     unchanged=lambda: count(Note, Note.body == body) == 0)
    if view == "delete_note":
        parent, note = w.new_note(blueprint)
        return Visit(f"{base}/{parent.id}/notes/{note.id}/delete", data={}, ok=302,
                     unchanged=w.exists(Note, note.id))
    if view == "upload_attachment":
        parent, filename = w.shared_record(blueprint), f"upload-{w.fresh(persona)}.txt"
        return Visit(f"{base}/{parent.id}/attachments", data={"file": (io.BytesIO(b"hello"), filename)}, ok=302,
                     unchanged=lambda: count(Attachment, Attachment.filename == filename) == 0)
    if view == "delete_attachment":
        parent, att = w.new_attachment(blueprint)
        return Visit(f"{base}/{parent.id}/attachments/{att.id}/delete", data={}, ok=302,
                     unchanged=w.exists(Attachment, att.id))
    if view in ("new", "clone"):
        name = f"{view} {w.fresh(persona)}"
        source = "new" if view == "new" else f"{w.shared_record(blueprint).id}/clone"
        # Another instructor's product form refuses class A (not a class they manage); so do the article's and the
        # document's forms (class A, a folder of class A) for another instructor and a student of another class.
        overrides = {"teacher2": 400} if blueprint == "products" and view == "new" else {}
        if blueprint in ("knowledge", "documents") and view == "new":
            overrides = {"teacher2": 400, "studentB": 400}
        return Visit(f"{base}/{source}", data={rtype.name_field: name, **rtype.form, **w.form_fields(blueprint)},
                     ok=302, unchanged=_none_named(model, name, rtype.name_field), overrides=overrides)
    fresh = w.new_record(blueprint, deleted=(view == "restore"))
    unchanged = w.lead_unchanged(fresh)
    if view == "edit":
        data = {rtype.name_field: "Edited", **rtype.form, **w.form_fields(blueprint), "version": str(fresh.version)}
        return Visit(f"{base}/{fresh.id}/edit", data=data, ok=302, unchanged=unchanged)
    if view == "transfer":
        return Visit(f"{base}/{fresh.id}/transfer", data={"owner_id": str(w.transfer_to.id)}, ok=302,
                     unchanged=unchanged)
    return Visit(f"{base}/{fresh.id}/{view}", data={}, ok=302, unchanged=unchanged)


def opportunity_item_visit(w: World, view: str, method: str) -> Visit:
    """An opportunity's lines, contact roles, partners and competitors (of the owner's opportunity)."""
    from sandbox.opportunities.related_models import (
        OpportunityCompetitor,
        OpportunityContactRole,
        OpportunityLine,
        OpportunityPartner,
    )

    base = "/opportunities"
    adds = {"line_add": ("lines", OpportunityLine, "products", {"product_id": None, "quantity": "2"}),
            "contact_role_add": ("contact-roles", OpportunityContactRole, "contacts",
                                 {"contact_id": None, "role": "influencer"}),
            "partner_add": ("partners", OpportunityPartner, "accounts", {"account_id": None}),
            "competitor_add": ("competitors", OpportunityCompetitor, "competitors", {"competitor_id": None})}
    if view in adds:
        path, model, source, data = adds[view]
        if method == "GET":
            return Visit(f"{base}/{w.shared_record('opportunities').id}/{path}/new")
        opp = w.new_record("opportunities", name="Deal without items")  # never the deal new_deal fills
        picked = w.shared_record(source).id
        data = {k: str(picked) if v is None else v for k, v in data.items()}
        return Visit(f"{base}/{opp.id}/{path}/new", data=data, ok=302,
                     unchanged=lambda: count(model, model.opportunity_id == opp.id) == 0)
    if view == "pickers":  # the inline forms' choices: writers of the opportunity only, as the forms
        return Visit(f"{base}/{w.shared_record('opportunities').id}/pickers")
    deal = w.new_deal()
    opp, line = deal["opp"], deal["line"]
    if view == "line_edit":
        if method == "GET":
            return Visit(f"{base}/{opp.id}/lines/{line.id}/edit")
        return Visit(f"{base}/{opp.id}/lines/{line.id}/edit", data={"quantity": "5", "discount": "0"}, ok=302,
                     unchanged=lambda: _reload(OpportunityLine, line.id).quantity == 1)
    rows = {"line_remove": ("lines", line), "contact_role_remove": ("contact-roles", deal["roles"][0]),
            "partner_remove": ("partners", deal["partner"]), "competitor_remove": ("competitors", deal["competitor"])}
    if view in rows:
        path, row = rows[view]
        return Visit(f"{base}/{opp.id}/{path}/{row.id}/remove", data={}, ok=302, unchanged=w.exists(type(row), row.id))
    second = deal["roles"][1]  # contact_role_primary: make the second contact primary
    return Visit(f"{base}/{opp.id}/contact-roles/{second.id}/primary", data={}, ok=302,
                 unchanged=lambda: not _reload(OpportunityContactRole, second.id).is_primary)


def category_visit(w: World, view: str, method: str, persona: str) -> Visit:
    """Product categories of class A (staff pages; another instructor's category is 404)."""
    from sandbox.products.models import ProductCategory

    if view == "categories":
        if method == "GET":
            return Visit("/products/categories")
        name = f"Category {w.fresh(persona)}"
        return Visit("/products/categories", data={"name": name, "class_id": str(w.class_a.id)}, ok=302,
                     overrides={"teacher2": 400},
                     unchanged=lambda: count(ProductCategory, ProductCategory.name == name) == 0)
    category = w.new_category()
    if view == "category_edit":
        if method == "GET":
            return Visit(f"/products/categories/{category.id}")
        name = category.name
        return Visit(f"/products/categories/{category.id}", data={"name": f"Renamed {w.fresh(persona)}"}, ok=302,
                     unchanged=lambda: _reload(ProductCategory, category.id).name == name)
    return Visit(f"/products/categories/{category.id}/delete", data={}, ok=302,
                 unchanged=w.exists(ProductCategory, category.id))


def _none_named(model: Any, name: str, name_field: str = "name") -> Callable[[], bool]:
    return lambda: count(model, getattr(model, name_field) == name, skip_visibility=True, include_deleted=True) == 0


def scenario_visit(w: World, view: str, method: str) -> Visit:
    """Scenario pages: read class A's; load, reset and undo class B's (also the teacher's, so that replacing its
    data does not disturb the class A records the other rules visit)."""
    from sandbox.classroom.models import Run
    from sandbox.classroom.runs.services import latest_run

    if method == "GET":
        return Visit(f"/scenarios/?class_id={w.class_a.id}")
    klass = w.c.classes["B"]
    latest = latest_run(klass.id)
    runs = count(Run)
    data = {"class_id": str(klass.id), "confirm": "y", "expected_run": str(latest.id if latest else 0)}
    if view == "load":
        data["scenario"] = "sales-basics"
    # Reset needs a loaded scenario and undo a reset to take back; without them the page explains (400).
    ok = 302 if view == "load" or latest is not None else 400
    return Visit(f"/scenarios/{view}", data=data, ok=ok,
                 unchanged=lambda: count(Run) == runs)


def grading_visit(w: World, view: str, method: str) -> Visit:
    """Gradebook pages of class A and grading actions on studentA. Class A has no scenario run here, so the
    exports and the actions send the allowed persona back with a message (302); with a run they answer 200
    and change grades (tests/test_gradebook_pages.py)."""
    from sandbox.classroom.models import DeadlineExtension, GradeOverride

    student = w.uid("studentA")
    if view == "index":
        return Visit(f"/grading/?class_id={w.class_a.id}")
    if view == "student":
        return Visit(f"/grading/students/{student}")
    if view in ("export_csv", "export_xlsx"):
        return Visit(f"/grading/export.{view[-4:].lstrip('_')}?class_id={w.class_a.id}", data={}, ok=302)
    action = {"override": "override", "clear_override": "clear-override", "extend": "extension"}[view]
    data = {"objective_id": "visit-notes", "points": "5", "comment": "Matrix", "deadline": "2031-01-01T10:00"}

    def unchanged() -> bool:
        return all(count(m) == 0 for m in (GradeOverride, DeadlineExtension))

    return Visit(f"/grading/students/{student}/{action}", data=data, ok=302, unchanged=unchanged)


def _no_activity_about(related_type: str, related_id: int) -> Callable[[], bool]:
    from sandbox.activities.models import Activity

    return lambda: count(Activity, Activity.related_type == related_type, Activity.related_id == related_id,
                         skip_visibility=True, include_deleted=True) == 0


def _no_position_named(name: str) -> Callable[[], bool]:
    return lambda: count(Position, Position.name == name) == 0


def _no_group_named(name: str) -> Callable[[], bool]:
    return lambda: count(SharingGroup, SharingGroup.name == name) == 0


def _methods(rule: Any) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _status_ok(expect: int | str, response: Any) -> bool:
    if expect == LOGIN:
        return response.status_code == 302 and urlparse(response.headers.get("Location", "")).path == "/auth/login"
    return response.status_code == expect


# ---- the tests -----------------------------------------------------------------------------------

def test_every_rule_is_classified(app):
    """A route nobody classified fails here, named, until someone decides who may open it."""
    unclassified = sorted(f"{r.endpoint} ({r.rule})" for r in app.url_map.iter_rules() if r.endpoint not in ROUTES)
    assert not unclassified, "routes missing from sandbox/route_access.py: " + ", ".join(unclassified)
    stale = sorted(set(ROUTES) - {r.endpoint for r in app.url_map.iter_rules()})
    assert not stale, f"the matrix classifies routes that no longer exist: {stale}"


def test_record_types_are_those_the_declaration_names(app):
    """The matrix builds records of exactly the types whose generic pages sandbox/route_access.py classifies
    (every type of the registry)."""
    assert {bp: t.audit_type for bp, t in RECORD_TYPES.items()} == record_blueprints()


def run_matrix(app: Any, world: World, personas: tuple[str, ...], clients: dict[str, Any],
               only: Callable[[Access], bool] = lambda access: True) -> tuple[list[str], int]:
    """Visit every (selected) rule and method as each persona; returns the wrong cells and the visit count."""
    adapter = app.url_map.bind("localhost")
    rules = [(r, m) for r in app.url_map.iter_rules() for m in _methods(r)]
    unclassified = sorted({r.endpoint for r, _m in rules if r.endpoint not in ROUTES})
    assert not unclassified, f"unclassified routes: {unclassified}"
    rules = [(r, m) for r, m in rules if only(ROUTES[r.endpoint])]
    failures: list[str] = []
    count = 0
    for persona in personas:
        client = clients[persona]
        planned = []
        for rule, method in rules:
            world.cheap = refused_whatever(ROUTES[rule.endpoint], persona, world.owner)
            planned.append((rule, method, visits(world, rule.endpoint, method, persona)))
        world.cheap = False
        planned.sort(key=lambda item: item[2].last)
        for rule, method, visit in planned:
            endpoint, _args = adapter.match(urlparse(visit.path).path, method=method)
            assert endpoint == rule.endpoint, f"{visit.path} does not exercise {rule.endpoint}"
            expect = expected(ROUTES[rule.endpoint], persona, visit, world.owner)
            if method == "GET":
                response = client.get(visit.path)
            else:
                response = client.post(visit.path, data=visit.data or {})
            count += 1
            where = f"{persona:9} {method:4} {visit.path} [{rule.endpoint}, {world.owner}'s]"
            if not _status_ok(expect, response):
                location = response.headers.get("Location", "")
                failures.append(f"{where}: expected {expect}, got {response.status_code} {location}".rstrip())
            if visit.shows is not None and response.status_code == 200:
                text, wanted = visit.shows
                if (text in response.get_data(as_text=True)) != wanted:
                    failures.append(f"{where}: {'misses' if wanted else 'shows'} {text!r}")
            refused = expect in (LOGIN, 403, 404) or persona in visit.overrides
            if refused and visit.unchanged is not None and not visit.unchanged():
                failures.append(f"{where}: refused ({response.status_code}) but the object changed")
            response.close()
    assert count >= len(rules) * len(personas)
    return failures, count


def client_of(app: Any, classroom: Any, persona: str) -> Any:
    """A client of the persona: signed in, or anonymous (a pending user's sign-in is refused)."""
    if persona == "anonymous":
        return app.test_client()
    if persona == "pendingA":
        client = app.test_client()
        refused = client.post("/auth/login?lang=en", data={"username": "pendingA", "password": PASSWORD})
        assert refused.status_code == 401
        assert b"awaits approval" in refused.data
        return client
    return classroom.client_for(app, persona)


@pytest.mark.parametrize("persona", PERSONAS)
def test_route_role_matrix(app, classroom, make_lead, persona):
    """Every rule × method answers what the spec says to this persona; refused changes change nothing.

    The records are studentA's (class A). One test per persona, so workers share the matrix out.
    """
    world = World(app, classroom, make_lead)
    failures, count = run_matrix(app, world, (persona,), {persona: client_of(app, classroom, persona)})
    assert not failures, f"{len(failures)} of {count} matrix cells wrong:\n" + "\n".join(failures)


def test_record_routes_of_another_class(app, classroom, make_lead):
    """Every record rule again with records of studentC (class C, teacher2's): class A's student and their
    instructor get 404, teacher2 gets in (observers: test_observer_writes_refused_alike)."""
    personas = ("studentA", "teacher", "teacher2")
    clients = {persona: client_of(app, classroom, persona) for persona in personas}
    world = World(app, classroom, make_lead, owner="studentC")
    failures, count = run_matrix(app, world, personas, clients, only=lambda access: access.kind == "record")
    assert not failures, f"{len(failures)} of {count} matrix cells wrong:\n" + "\n".join(failures)


def test_allowed_changes_really_happen(app, classroom, make_lead):
    """The matrix's 302s are real changes, not silent refusals: spot-check each kind of write."""
    world = World(app, classroom, make_lead)
    teacher = classroom.client_for(app, "teacher")
    manager = classroom.client_for(app, "managerA")

    lead = world.new_lead()
    assert manager.post(f"/leads/{lead.id}/transfer", data={"owner_id": str(world.uid("peerA"))}).status_code == 302
    assert not world.lead_unchanged(lead)()
    assert db.session.scalars(select(Lead).where(Lead.id == lead.id)
                              .execution_options(skip_visibility=True, populate_existing=True)).one().owner_id \
        == world.uid("peerA")

    position = world.new_position()
    assert teacher.post(f"/admin/positions/{position.id}/delete", data={}).status_code == 302
    assert not world.exists(Position, position.id)()

    group = world.new_group(with_member=True)
    member_id = group.members[0].id
    assert teacher.post(f"/admin/sharing/members/{member_id}/remove", data={}).status_code == 302
    assert not world.exists(SharingGroupMember, member_id)()


def test_admin_objects_are_scoped_both_ways(app, classroom):
    """An instructor opens neither another instructor's class objects nor the administrator."""
    teacher = classroom.client_for(app, "teacher")
    teacher2 = classroom.client_for(app, "teacher2")
    c_position = classroom.positions["C1"]
    assert teacher.get(f"/admin/positions/{c_position.id}").status_code == 404
    assert teacher.get(f"/admin/users/{classroom.user('studentC').id}").status_code == 404
    assert teacher.get(f"/admin/sharing?class_id={classroom.classes['C'].id}").status_code == 404
    assert teacher2.get(f"/admin/positions/{c_position.id}").status_code == 200
    assert teacher2.get(f"/admin/users/{classroom.user('studentC').id}").status_code == 200
    # Nobody but an administrator manages the administrator or the organisation root.
    assert teacher.get(f"/admin/users/{classroom.user('admin').id}").status_code == 404
    assert teacher.get(f"/admin/users/{classroom.user('teacher2').id}").status_code == 404
    assert teacher.get(f"/admin/positions/{classroom.root.id}").status_code == 404
    # Lists show only the instructor's own part of the tree.
    users_page = teacher2.get("/admin/users").get_data(as_text=True)
    assert "studentC" in users_page and "studentA" not in users_page
    tree = teacher2.get("/admin/positions").get_data(as_text=True)
    assert "Class C" in tree and "Class A" not in tree


def test_observer_writes_refused_alike(app, classroom, make_lead):
    """An observer's write gets 403 for a visible record, another class's record and a missing id alike."""
    observer = classroom.client_for(app, "readonlyA")
    mine = make_lead(classroom.user("studentA")).id
    other = make_lead(classroom.user("studentC")).id
    for path in ("/leads/{}/edit", "/leads/{}/transfer", "/leads/{}/clone", "/leads/{}/convert"):
        assert [observer.get(path.format(i)).status_code for i in (mine, other, 999_999)] == [403, 403, 403], path
    for path in ("/leads/{}/delete", "/leads/{}/restore", "/leads/{}/edit"):
        assert [observer.post(path.format(i)).status_code for i in (mine, other, 999_999)] == [403, 403, 403], path
    # Reading still follows the rule: 200 for class A's record, 404 for class C's and for a missing one.
    assert [observer.get(f"/leads/{i}").status_code for i in (mine, other, 999_999)] == [200, 404, 404]
