"""Who may open each route: the one declaration that docs/ROUTES.md and the route × role matrix test read.

Every rule of the app has an entry here, keyed by endpoint; `tests/test_matrix.py` fails on a rule without one
and visits each rule as every kind of user to check the classification holds. `sandbox/routes_doc.py` writes
the classification next to each URL in docs/ROUTES.md, so the documentation and the matrix cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .records import registry


@dataclass(frozen=True)
class Access:
    """How a rule is protected.

    kind: public | signed_in | changer (signed in and may change data) | staff | admin |
          staff_object (an admin object of a class, by id) | record (a business record, by id) |
          teaching_reader (a teaching page of a class by class_id: its staff and its observer read, students are
          refused by role with 403 as on staff pages, other staff get 404)
    target: the record type (record) or the admin object kind (staff_object)
    write: for records, whether even the GET is a write (edit and transfer forms, clone)
    words: who may open it, for docs/ROUTES.md, when the kind's wording does not fit the rule exactly
    """

    kind: str
    target: str | None = None
    write: bool = False
    words: str | None = None


# ---- classification: every rule of the app ----------------------------------------------------

PUBLIC = Access("public")
SIGNED_IN = Access("signed_in")
CHANGER = Access("changer")
STAFF_ONLY = Access("staff")
ADMIN_ONLY = Access("admin")
TEACHING_READER = Access("teaching_reader")


def record(kind: str, write: bool = False) -> Access:
    """A business record of `kind`, by id (`write`: even the GET is a change)."""
    return Access("record", kind, write)


def staff_object(kind: str) -> Access:
    """An administrative object of `kind` (position, user, class...) by id, for the staff of its class."""
    return Access("staff_object", kind)


CURATOR_WORDS = ("the instructors of the article's class and administrators (a student who may read it: 403; "
                 "cannot read it: 404)")
FOLDER_WORDS = ("the folder's creator and the instructors of its class (observers and classmates: 403; another "
                "class's folder: 404)")

DECLARED: dict[str, Access] = {
    "static": PUBLIC,
    "bootstrap.static": PUBLIC,
    # Chart.js fetched from npm at install time, for ASSET_BASE_URL=local (offline classrooms).
    "vendor_asset": PUBLIC,
    "health": PUBLIC,
    "auth.login": PUBLIC,
    "auth.register": PUBLIC,
    "auth.language": PUBLIC,
    "home.index": SIGNED_IN,
    "auth.logout": SIGNED_IN,
    "auth.password": SIGNED_IN,
    "auth.profile": SIGNED_IN,
    "log.index": SIGNED_IN,
    "log.export_csv": SIGNED_IN,
    # Reports aggregate only what the viewer may read (every query goes through the visibility rule).
    "reports.index": SIGNED_IN,
    "reports.family_page": SIGNED_IN,
    "reports.export": SIGNED_IN,
    # Forecasts read only what the viewer may see; a quota is set by a superior (the service checks who is below
    # whom), so the quota pages are open to anyone who may change data, and answer an empty list to the others.
    "forecasts.index": SIGNED_IN,
    "forecasts.submit": CHANGER,
    "forecasts.quotas": CHANGER,
    "forecasts.quota_import": CHANGER,
    # Saving an RFM segment as a tag changes accounts: observers are refused before anything is read.
    "reports.save_segment_tag": CHANGER,
    # The calendar reads activities through the visibility rule; `who` offers only the viewer's own calendar,
    # their subordinates' and the departments/classes below them.
    # The inbox is personal: every query names the reader, so another user's notification is 404 to anyone.
    "notifications.index": SIGNED_IN,
    "notifications.read": Access("signed_in", words="the notification's addressee (anyone else: 404)"),
    "notifications.read_all": SIGNED_IN,
    "calendars.index": SIGNED_IN,
    "calendars.events": SIGNED_IN,
    "calendars.move": record("activity", write=True),
    "calendars.feed_page": SIGNED_IN,
    "calendars.feed_create": CHANGER,
    "calendars.feed_revoke": CHANGER,
    # The .ics feed: no session (calendar apps), but a valid unrevoked token; anything else is 404.
    "calendars.feed": Access("public", words="anyone with a valid, unrevoked feed token (else 404)"),
    # Record pages beyond the generic ones (the generic ones: one set per registered record type, below).
    "leads.convert": record("lead", write=True),
    "opportunities.stage": record("opportunity", write=True),
    "opportunities.reopen": record("opportunity", write=True),
    "opportunities.pipeline": SIGNED_IN,
    # Logging a call needs only to read the record it is about (the matrix logs calls about a lead); observers are
    # refused as for any write.
    "activities.log_call": Access("record", "lead", write=True, words="who may read the record the call is about, "
                                  "except read-only observers (cannot read it: 404)"),
    "activities.complete": record("activity", write=True),
    # Cases: a new case of one workflow; a move and the knowledge link change the case (the service then checks
    # who the workflow lets make the move); visit orders in bulk list what the viewer sees and change row by row
    # through the same services (each row through the permission door).
    "cases.new_for": CHANGER,
    "cases.move": record("case", write=True),
    "cases.solved_by": record("case", write=True),
    "cases.visit_orders": SIGNED_IN,
    "cases.visit_orders_import": CHANGER,
    "cases.visit_orders_status": CHANGER,
    "admin.approvals": STAFF_ONLY,
    "admin.positions": STAFF_ONLY,
    "admin.position_add": STAFF_ONLY,
    "admin.position_wizard": STAFF_ONLY,
    "admin.sharing": STAFF_ONLY,
    "admin.group_create": STAFF_ONLY,
    "admin.users": STAFF_ONLY,
    "admin.roster": STAFF_ONLY,
    "admin.organization": ADMIN_ONLY,
    # Code tables are installation-wide picklists that every instructor edits (SPEC §7.3).
    "admin.code_tables": STAFF_ONLY,
    "admin.code_value_add": STAFF_ONLY,
    "admin.code_value_update": STAFF_ONLY,
    "admin.code_value_delete": STAFF_ONLY,
    "admin.position_edit": staff_object("position"),
    "admin.position_delete": staff_object("position"),
    "admin.group_add_member": staff_object("sharing_group"),
    "admin.group_remove_member": staff_object("sharing_group_member"),
    "admin.group_delete": staff_object("sharing_group"),
    "admin.user_edit": staff_object("user"),
    "admin.user_password_reset": staff_object("user"),
    "admin.user_new": STAFF_ONLY,
    "admin.user_delete": staff_object("user"),
    # Scenarios: loaded, reset and undone by the class's instructors.
    "scenarios.index": staff_object("class"),
    "scenarios.load": staff_object("class"),
    "scenarios.reset": staff_object("class"),
    "scenarios.undo": staff_object("class"),
    # Teaching pages of a class (classroom/permissions.py).
    "grading.activity": TEACHING_READER,
    # The gradebook of a class, a student's evidence page and the exports (grading_routes.py): students have
    # /me/progress instead and get 403 by role; the class's observer reads; another instructor gets 404.
    "grading.index": TEACHING_READER,
    "grading.student": TEACHING_READER,
    "grading.export_csv": TEACHING_READER,
    "grading.export_xlsx": TEACHING_READER,
    # Overrides and extensions for a student: their class's staff only (observers and students 403 before any lookup).
    "grading.override": staff_object("student"),
    "grading.clear_override": staff_object("student"),
    "grading.extend": staff_object("student"),
    "me.progress": SIGNED_IN,
    # Knowledge base: publishing is the instructors' curation (a student author may write, not publish).
    "knowledge.publish": Access("record", "article", write=True, words=CURATOR_WORDS),
    "knowledge.unpublish": Access("record", "article", write=True, words=CURATOR_WORDS),
    # Documents: folders belong to a class; any member who may change data makes one, its creator or the class's
    # instructors rename and delete it; another class's folder is 404.
    "documents.folder_create": CHANGER,
    "documents.folder_rename": Access("changer", words=FOLDER_WORDS),
    "documents.folder_delete": Access("changer", words=FOLDER_WORDS),
    "documents.download_current": record("document"),
    # Spare-parts stock: moved by whoever may change the product (its class's instructors); the alarm reads what
    # the viewer reads.
    "products.stock_move": record("product", write=True),
    "products.low_stock": SIGNED_IN,
    # Campaigns: members change with write access to the campaign (the people added must be visible too); the
    # import form is a write page even on GET; campaign tasks list only tasks and campaigns the viewer may see.
    "campaigns.member_add": record("campaign", write=True),
    "campaigns.member_add_filtered": record("campaign", write=True),
    "campaigns.member_status": record("campaign", write=True),
    "campaigns.member_remove": record("campaign", write=True),
    "campaigns.member_import": record("campaign", write=True),
    "campaigns.tasks": SIGNED_IN,
}


GENERIC_RECORD_PAGES: dict[str, tuple[str, bool]] = {
    # view -> (kind, write)
    "index": ("signed_in", False),
    "recycle_bin": ("signed_in", False),
    "new": ("changer", False),
    "detail": ("record", False),
    "edit": ("record", True),
    "clone": ("record", True),
    "transfer": ("record", True),
    "delete": ("record", True),
    "restore": ("record", True),
    # records/extras.py: export, import, notes and attachments of every type
    "export_csv": ("signed_in", False),
    "export_xlsx": ("signed_in", False),
    "import_records": ("changer", False),
    "add_note": ("record", True),
    "delete_note": ("record", True),
    "upload_attachment": ("record", True),
    "download_attachment": ("record", False),
    "delete_attachment": ("record", True),
}
# Products are maintained by instructors: creating and importing them is staff work; categories per class.
PRODUCT_PAGES: dict[str, Access] = {
    "products.new": STAFF_ONLY,
    "products.import_records": STAFF_ONLY,
    "products.categories": STAFF_ONLY,
    "products.category_edit": staff_object("product_category"),
    "products.category_delete": staff_object("product_category"),
}
# An opportunity's lines, contact roles, partners and competitors: changes need write access to it, and so do
# the choices of its inline forms' pickers (only writers get the forms).
OPPORTUNITY_ITEMS = ("pickers", "line_add", "line_edit", "line_remove", "contact_role_add", "contact_role_primary",
                     "contact_role_remove", "partner_add", "partner_remove", "competitor_add", "competitor_remove")


def record_blueprints() -> dict[str, str]:
    """Blueprint -> record type of the generic record pages: every type in the registry ("leads" -> "lead")."""
    return {t.blueprint: t.name for t in registry.all_types()}


def classify(blueprints: dict[str, str]) -> dict[str, Access]:
    """Every rule's classification: the declared rules plus the generic pages of each record type's blueprint."""
    routes = dict(DECLARED)
    for bp, kind in blueprints.items():
        for view, (page_kind, write) in GENERIC_RECORD_PAGES.items():
            routes[f"{bp}.{view}"] = Access(page_kind, kind if page_kind == "record" else None, write)
    routes.update(PRODUCT_PAGES)
    routes.update({f"opportunities.{view}": record("opportunity", write=True) for view in OPPORTUNITY_ITEMS})
    return routes


class Routes(Mapping[str, Access]):
    """Endpoint -> Access of every rule, read when asked.

    The record types register as their packages are imported (create_app imports them all), possibly after this
    module: so the generic pages are derived from the registry at lookup, never frozen at import.
    """

    def __init__(self) -> None:
        self._blueprints: dict[str, str] | None = None
        self._routes: dict[str, Access] = {}

    def _current(self) -> dict[str, Access]:
        blueprints = record_blueprints()
        if blueprints != self._blueprints:
            self._blueprints, self._routes = blueprints, classify(blueprints)
        return self._routes

    def __getitem__(self, endpoint: str) -> Access:
        return self._current()[endpoint]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


ROUTES = Routes()

# Who may open a rule of each kind, in words (docs/ROUTES.md).
KIND_WORDS: dict[str, str] = {
    "public": "anyone, signed in or not",
    "signed_in": "any signed-in user",
    "changer": "signed-in users who may change data (not read-only observers)",
    "staff": "instructors and administrators",
    "admin": "administrators",
    "staff_object": "the instructors of the {target}'s class and administrators (others: 404, students: 403)",
    "teaching_reader": "the class's instructors, administrators and its read-only observer (others: 404, students: 403)",
    "record": "who may read the {target} (others: 404)",
}
RECORD_WRITE_WORDS = "who may change the {target} (cannot read it: 404, may read only: 403)"


def describe(access: Access) -> str:
    """Who may open a rule classified as `access`, in one English phrase."""
    if access.words is not None:
        return access.words
    words = RECORD_WRITE_WORDS if access.kind == "record" and access.write else KIND_WORDS[access.kind]
    return words.format(target=(access.target or "").replace("_", " "))
