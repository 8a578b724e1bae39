"""generate(): a validated scenario, a roster and the run's start time → plain rows per table, deterministically.

Output contract (what sandbox/classroom's loader receives):

* A dict keyed by the real table names, in TABLE_ORDER (insert in that order). Every table is present
  (possibly empty) and every row of a table has the same keys (executemany-ready): model columns, never
  `id` (tests/test_seed.py checks every NOT NULL column without a default is there), plus `key` on rows
  that others reference, with references written as `<name>_ref` instead of `<name>_id`.
* `key` is a temporary string key, unique in the whole output ("account:alice:3", "product:TEA-001").
  A `<name>_ref` column holds the `key` of the row it points to (or None); the loader inserts a table,
  learns the ids of its keys, and writes `<name>_id` = id of that key. `activities.related_ref` points
  into the table named by `related_type` (lead, account, contact, opportunity). Self-references
  (`product_categories.parent_ref`, `contacts.reports_to_ref`) always point to an EARLIER row of the
  same list, so inserting row by row in list order, or parents-first levels, resolves them.
* `owner_id`, `created_by_id`, `changed_by_id` and `class_id` are real ids: the roster's user_id and
  class_id (all members share one class; `class_id=` names it for an empty roster). Class-wide rows
  (products, competitors, knowledge articles) carry `owner_id` = `class_owner_id` (None: the loader sets it, e.g. to the
  instructor who loads the scenario). `code_values` rows are the scenario's code-table
  overrides, global like the table itself: upsert them by (table_name, code).
* Money is Decimal with 2 places, dates are `date`, times are naive UTC `datetime` strictly before
  `run_started_at` (except future due dates and events); `deleted_at` is None and `version` 1.
* Each student's rows depend only on (scenario, username, class_id, user_id, run_started_at): resetting
  one student regenerates exactly their rows; two students never get the same book. The per-student
  random seed is sha256(scenario seed, username), never Python's salted hash().
* Nothing generated meets an objective: objectives count log entries of the run, and record_count
  checks only count records touched in the run (scenarios/README.md).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from .book import Book, Market, Shared
from .book_service import knowledge_rows
from .checks import effective_codes
from .dice import Dice
from .fields import DEFAULT_CODES
from .names import Names, short_product
from .odds import weighted_codes
from .schema import Category, Scenario
from .vocab_en import GENERATED_COMPETITOR_WORDS as EN_WORDS
from .vocab_zh import GENERATED_COMPETITOR_WORDS as ZH_WORDS

TABLE_ORDER = (
    "code_values", "product_categories", "products", "competitors", "knowledge_articles", "accounts", "contacts",
    "leads", "opportunities", "opportunity_stage_history", "opportunity_lines", "opportunity_competitors",
    "opportunity_contact_roles", "activities", "campaigns", "campaign_members", "cases", "case_history",
)
# Records per class that belong to the class, not to a student.
CLASS_TABLES = ("code_values", "product_categories", "products", "competitors", "knowledge_articles")

Roster = list[dict[str, Any]]


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from the parts (sha256: unlike hash(), the same in every process)."""
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "big")


def student_seed(scenario_seed: int, username: str) -> int:
    """The random seed of one student's book."""
    return stable_seed(scenario_seed, "student", username)


def _owned(key: str, owner_id: int | None, class_id: int | None, at: datetime) -> dict[str, Any]:
    return {"key": key, "owner_id": owner_id, "class_id": class_id, "created_by_id": owner_id, "created_at": at,
            "updated_at": at, "deleted_at": None, "version": 1}


def _code_values(s: Scenario) -> list[dict[str, Any]]:
    rows = []
    for table, overrides in s.codes.items():
        order = list(DEFAULT_CODES.get(table, ()))
        for o in overrides:
            if o.code not in order:
                order.append(o.code)
            rows.append({"table_name": table, "code": o.code, "label_zh": o.label_zh, "label_en": o.label_en,
                         "sort_order": (order.index(o.code) + 1) * 10, "active": o.active, "extra": o.extra})
    return rows


def _categories(nodes: list[Category], parent: str | None, class_id: int | None, at: datetime,
                out: list[dict[str, Any]]) -> None:
    for node in nodes:
        key = f"category:{len(out) + 1}"
        out.append({"key": key, "name": node.name, "parent_ref": parent, "class_id": class_id, "created_at": at})
        _categories(node.children, key, class_id, at, out)


def _competitors(s: Scenario, names: Names, owner: int | None, class_id: int | None,
                 at: datetime) -> list[dict[str, Any]]:
    rng = Dice(stable_seed(s.seed, "class"))
    rows = []
    for c in s.competitors:
        rows.append({**_owned(f"competitor:{len(rows) + 1}", owner, class_id, at), **c.model_dump()})
    taken = {r["name"] for r in rows}
    words = ZH_WORDS if names.zh else EN_WORDS
    weighted = weighted_codes(effective_codes(s), s.language)
    while len(rows) < s.volumes.per_class.competitors:
        firm = names.firm(rng, words)
        if firm.name in taken:
            continue
        taken.add(firm.name)
        rows.append({**_owned(f"competitor:{len(rows) + 1}", owner, class_id, at), "name": firm.name,
                     "website": f"www.{firm.domain}", "strengths": None, "weaknesses": None,
                     "threat_level": rng.weighted(*weighted["threat_level"]),
                     "company_type": rng.weighted(*weighted["company_type"]),
                     "products": None, "description": None})
    return rows


def _subtree(nodes: list[Category], out: dict[str, set[str]]) -> set[str]:
    """Fill `out` with each category's name → its own and its descendants' names; returns the names of `nodes`."""
    names: set[str] = set()
    for node in nodes:
        out[node.name] = {node.name} | _subtree(node.children, out)
        names |= out[node.name]
    return names


def _markets(s: Scenario, names: Names) -> tuple[list[Market], list[float]]:
    """The kinds of customer (the scenario's, or the locale's defaults) with the products each buys."""
    tree: dict[str, set[str]] = {}
    _subtree(s.categories, tree)
    segments = [(g.industry, g.words, g.titles, g.buys, g.weight) for g in s.customers] or \
        [(industry, words, [], [], 1) for industry, words in names.vocab.SEGMENTS]
    markets = []
    for industry, words, titles, buys, _weight in segments:
        wanted = set().union(*(tree[c] for c in buys)) if buys else None
        products = [p for p in s.products if wanted is None or p.category in wanted] or list(s.products)
        markets.append(Market(industry, list(words), list(titles), products,
                              [(short_product(p.name), p.category) for p in products]))
    return markets, list(itertools.accumulate(g[-1] for g in segments))


def _class_id(roster: Roster, class_id: int | None) -> int | None:
    classes = {m["class_id"] for m in roster} | ({class_id} if class_id is not None else set())
    if len(classes) > 1:
        raise ValueError(f"a roster is one class; got class ids {sorted(classes, key=str)}")
    return next(iter(classes), None)


def generate_parts(scenario: Scenario, roster: Roster, run_started_at: datetime, *, class_id: int | None = None,
                   class_owner_id: int | None = None, students_per_part: int = 10,
                   only: Iterable[int] | None = None) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """generate() in parts: the first holds the class's rows and the first students' books, each next one
    only the books of the next `students_per_part` students (a loader can insert a part while the next is
    being built). Concatenating the parts table by table gives exactly generate()'s rows. `only`: the
    indexes of the parts wanted, in the order wanted (the others are not built), so that several workers
    can share the parts; a part is the same whoever builds it."""
    if run_started_at.tzinfo is not None:
        run_started_at = run_started_at.astimezone(UTC).replace(tzinfo=None)
    run_started_at = run_started_at.replace(microsecond=0)
    class_id = _class_id(roster, class_id)
    names = Names(scenario.faker_locale, scenario.company.city)
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in TABLE_ORDER}
    since = run_started_at - timedelta(days=365)
    rows["code_values"] = _code_values(scenario)
    _categories(scenario.categories, None, class_id, since, rows["product_categories"])
    category_keys = {r["name"]: r["key"] for r in rows["product_categories"]}
    for p in scenario.products:
        data = p.model_dump(exclude={"category", "order_quantity"})
        rows["products"].append({**_owned(f"product:{p.code}", class_owner_id, class_id, since), **data,
                                 "category_ref": category_keys[p.category]})
    rows["competitors"] = _competitors(scenario, names, class_owner_id, class_id, since)
    rows["knowledge_articles"] = knowledge_rows(scenario, class_owner_id, class_id, since)
    codes = effective_codes(scenario)
    markets, weights = _markets(scenario, names)
    shared = Shared(scenario=scenario, names=names, codes=codes, now=run_started_at,
                    weighted=weighted_codes(codes, scenario.language), competitors=[r["key"] for r in rows["competitors"]],
                    markets=markets, market_weights=weights)
    step = max(1, students_per_part)
    for index in range(part_count(len(roster), step)) if only is None else only:
        start = index * step
        part = rows if index == 0 else {table: [] for table in TABLE_ORDER}
        for member in roster[start:start + step]:
            rng = Dice(student_seed(scenario.seed, member["username"]))
            Book(shared, member, rng, part).build()
        yield part


def part_count(students: int, students_per_part: int = 10) -> int:
    """How many parts generate_parts() yields for a roster of `students`."""
    step = max(1, students_per_part)
    return max(1, -(-students // step))


def generate(scenario: Scenario, roster: Roster, run_started_at: datetime, *, class_id: int | None = None,
             class_owner_id: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows per table for the class (catalogue, competitors) and each roster member's own book."""
    parts = generate_parts(scenario, roster, run_started_at, class_id=class_id, class_owner_id=class_owner_id,
                           students_per_part=len(roster))
    return next(parts)
