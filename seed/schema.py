"""The scenario file schema (pydantic v2): structure and value types; cross-references are in checks.py."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field
from pydantic_core import PydanticCustomError

LOCALES = ("zh_CN", "en_US")
CHECK_KINDS = ("log_count", "record_count", "sequence", "manual", "forecast_submitted", "forecast_accuracy",
               "case_resolved", "campaign_members")
# Which entries count: typed in the UI (default), imported from a file, or both.
Source = Literal["ui", "import", "any"]
# Which records count: any, only those the scenario generated for the student, or only those made in class.
Origin = Literal["any", "generated", "created"]


def _fail(what: str) -> PydanticCustomError:
    return PydanticCustomError("expected", "expected {what}", {"what": what})


def _int(minimum: int, what: str) -> Any:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _fail(what)
        return value

    return BeforeValidator(check)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail("non-empty text")
    return value.strip()


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", value):
        raise _fail("a lowercase code of letters, digits, _ or - (at most 40, starting with a letter)")
    return value


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _fail("an amount (a number of at most 2 decimals, not negative)")
    try:
        amount = Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        raise _fail("an amount (a number of at most 2 decimals, not negative)") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise _fail("an amount (a number of at most 2 decimals, not negative)")
    return amount.quantize(Decimal("0.01"))


def _range(value: Any) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return (value, value)
    ok = isinstance(value, list | tuple) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    if not ok or value[0] > value[1]:
        raise _fail("a number or a range [min, max] of integers, 0 <= min <= max")
    return (value[0], value[1])


_ISO = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


def _duration(value: Any) -> timedelta:
    what = "a number of days or an ISO 8601 duration such as P14D or PT90M"
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return timedelta(days=value)
    match = _ISO.fullmatch(value) if isinstance(value, str) and value not in ("P", "PT") else None
    if match is None:
        raise _fail(what)
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if span <= timedelta(0):
        raise _fail(what)
    return span


_QUARTER = re.compile(r"(\d{4})-Q([1-4])")


def _quarter_ref(value: Any) -> str:
    """`current`, `next` (relative to the run's start) or a fiscal quarter such as `2026-Q3`."""
    if isinstance(value, str) and (value in ("current", "next") or _QUARTER.fullmatch(value)):
        return value
    raise _fail("current, next or a fiscal quarter such as 2026-Q3")


def _percent(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _fail("a percentage above 0 and at most 100")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _fail("a percentage above 0 and at most 100") from None
    if not number.is_finite() or not 0 < number <= 100:
        raise _fail("a percentage above 0 and at most 100")
    return number


PositiveInt = Annotated[int, _int(1, "a positive integer")]
QuarterRef = Annotated[str, BeforeValidator(_quarter_ref)]
Percent = Annotated[Decimal, BeforeValidator(_percent)]
Count = Annotated[int, _int(0, "a whole number, 0 or more")]
Text = Annotated[str, BeforeValidator(_text)]
Slug = Annotated[str, BeforeValidator(_slug)]
Money = Annotated[Decimal, BeforeValidator(_money)]
Range = Annotated[tuple[int, int], BeforeValidator(_range)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Bilingual(Strict):
    """A text in Chinese and English."""
    zh: Text
    en: Text


class Company(Strict):
    """The simulated company the students work for."""
    name: Bilingual
    industry: Slug
    city: Text
    description: Bilingual | None = None


class Category(Strict):
    """A product category, with its subcategories."""
    name: Text
    children: list[Category] = []


class Product(Strict):
    """A product of the catalogue."""
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
    name: Text
    category: Text
    unit: Text
    list_price: Money
    cost: Money | None = None
    stock_on_hand: Count = 0
    reorder_level: Count = 0
    active: bool = True
    description: Text | None = None
    order_quantity: Range | None = None  # usual quantity on one order line (default: from line_value)


class Competitor(Strict):
    """A competitor of the class's company."""
    name: Text
    website: Text | None = None
    strengths: Text | None = None
    weaknesses: Text | None = None
    threat_level: Slug | None = None
    company_type: Slug | None = None
    products: Text | None = None
    description: Text | None = None


class Segment(Strict):
    """A kind of customer: its industry code and the words its company names end with (酒店管理, Hotels)."""

    industry: Slug
    words: Annotated[list[Text], Field(min_length=1)]
    titles: list[Text] = []
    buys: list[Text] = []
    weight: PositiveInt = 1


class CodeOverride(Strict):
    """A scenario's own label for a code of a code table."""
    code: Slug
    label_zh: Text
    label_en: Text
    active: bool = True
    extra: dict[str, Any] | None = None


class OpportunityVolume(Strict):
    """How many opportunities per student, and their sizes."""
    count: Count = 0
    line_value: Range = (5000, 200000)  # typical value of one product line (quantity follows the price)
    lines: Range = (0, 0)
    competitors: Range = (0, 0)
    contact_roles: Range = (0, 0)


class PerStudent(Strict):
    """Records generated for each student."""
    leads: Count = 0
    accounts: Count = 0
    contacts_per_account: Range = (1, 2)
    opportunities: OpportunityVolume = OpportunityVolume()
    activities: Count = 0


class PerClass(Strict):
    """Records generated once for the class."""
    competitors: Count = 0


class Volumes(Strict):
    """How much data the scenario generates."""
    per_student: PerStudent
    per_class: PerClass = PerClass()


class LogCount(Strict):
    """At least `count` distinct things the student did with `verb` in the run that still stand (optionally on
    `object_type`, changing `field` [to `to`]); `per: parent` counts the records a child row was added to."""

    kind: Literal["log_count"]
    verb: Text
    object_type: Text | None = None
    field: Text | None = None
    to: str | int | float | bool | None = None
    count: PositiveInt = 1
    source: Source = "ui"
    origin: Origin = "any"
    per: Literal["record", "parent"] = "record"


class RecordCount(Strict):
    """At least `count` records of the student's matching `where` and having the `with` children."""

    kind: Literal["record_count"]
    record_type: Text
    where: dict[str, Any] = {}
    with_: list[Text] = Field(default=[], alias="with")
    count: PositiveInt = 1
    touched_in_run: bool = True
    source: Source = "ui"
    origin: Origin = "any"


class Sequence(Strict):
    """The verbs of `steps` happened in this order (on one record when `same_record`), `count` times."""

    kind: Literal["sequence"]
    steps: Annotated[list[Text], Field(min_length=2)]
    same_record: bool = True
    count: PositiveInt = 1
    source: Source = "ui"


class Manual(Strict):
    """Scored by the instructor against the rubric."""

    kind: Literal["manual"]
    rubric: Bilingual


class ForecastSubmitted(Strict):
    """The student submitted their forecast for `quarter` (current: the fiscal quarter the run started in)."""

    kind: Literal["forecast_submitted"]
    quarter: QuarterRef = "current"


class ForecastAccuracy(Strict):
    """The student's latest forecast for `quarter` submitted at least `before_deadline` before their deadline lies
    within `within` % of what was closed won in that quarter at the deadline (the `measure`: commit or best case)."""

    kind: Literal["forecast_accuracy"]
    within: Percent
    quarter: QuarterRef = "current"
    measure: Literal["commit", "best_case"] = "commit"
    before_deadline: Duration | None = None


class CaseResolved(Strict):
    """At least `count` distinct cases of `workflow` [at complaint `level`] that the student took through every
    state of `path` by their own transitions (each move along it, then into one of `ends`), that still stand in
    one of `ends` (not deleted, not moved back out) and, when `satisfaction`, carry a satisfaction score.
    `path` and `ends` default to the workflow's required path (seed/workflows.py)."""

    kind: Literal["case_resolved"]
    workflow: Slug
    path: Annotated[list[Slug], Field(min_length=1)] | None = None
    ends: Annotated[list[Slug], Field(min_length=1)] | None = None
    level: Annotated[int, _int(1, "a complaint level from 1 to 5")] | None = None
    count: PositiveInt = 1
    satisfaction: bool = True
    source: Source = "ui"
    origin: Origin = "any"


class CampaignMembers(Strict):
    """At least `count` members the student added in the run to their own campaigns that still stand (not removed,
    the campaign not deleted) and, when `responded`, whose response status is a responded one."""

    kind: Literal["campaign_members"]
    count: PositiveInt = 1
    responded: bool = True


Check = Annotated[LogCount | RecordCount | Sequence | Manual | ForecastSubmitted | ForecastAccuracy | CaseResolved
                  | CampaignMembers, Discriminator("kind")]


class Objective(Strict):
    """One graded objective: its title, points and check."""
    id: Slug
    title: Bilingual
    points: PositiveInt
    check: Check
    hint: Bilingual | None = None


class Campaigns(Strict):
    """Campaigns generated for each student, with members drawn from the student's own leads and contacts."""

    per_student: Count = 0
    members: Range = (0, 0)  # members per campaign
    actual_cost: Range = (1000, 20000)  # what a finished or running campaign has cost so far


class Cases(Strict):
    """Open cases generated for each student: how many of each workflow, in a plausible non-final state."""

    per_student: dict[Slug, Count] = {}
    levels: Annotated[list[Annotated[int, _int(1, "a complaint level from 1 to 5")]], Field(min_length=1)] = [2, 3, 4]


class Article(Strict):
    """A published knowledge-base article, readable by the whole class (written in the scenario's language)."""

    title: Text
    category: Slug
    keywords: Text | None = None
    body: Text


class Quotas(Strict):
    """Default quotas: `amount` for every student for each of `quarters` (set where no quota exists yet)."""

    amount: Money
    quarters: Annotated[list[QuarterRef], Field(min_length=1)] = ["current", "next"]


class Scenario(Strict):
    """A scenario file: the simulated company, its catalogue and market, volumes, objectives."""

    title: Bilingual
    briefing: Bilingual
    faker_locale: Literal["zh_CN", "en_US"]
    seed: Count
    company: Company
    categories: list[Category] = []
    products: list[Product] = []
    competitors: list[Competitor] = []
    customers: list[Segment] = []
    codes: dict[Slug, list[CodeOverride]] = {}
    volumes: Volumes
    objectives: Annotated[list[Objective], Field(min_length=1)]
    quotas: Quotas | None = None
    campaigns: Campaigns | None = None
    cases: Cases | None = None
    knowledge: list[Article] = []
    default_deadline: Duration = timedelta(days=14)
    currency: Literal["CNY", "USD", "EUR", "GBP", "JPY", "HKD"] = "CNY"

    @property
    def language(self) -> str:
        """zh or en: the language of generated free text."""
        return "zh" if self.faker_locale.startswith("zh") else "en"

    @property
    def total_points(self) -> int:
        """Sum of the objectives' points."""
        return sum(o.points for o in self.objectives)
