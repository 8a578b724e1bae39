"""Checks across a structurally valid scenario: references, known verbs and fields, codes, volume ceiling."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from .fields import CHILD_VERBS, DEFAULT_CODES, RECORD_FIELDS, VERBS, WITH_CHILDREN, object_types, subject_types
from .schema import CaseResolved, Category, LogCount, RecordCount, Scenario, Sequence
from .workflows import FLOWS

# A student's book may not exceed this many records (worst case of the ranges): reset must stay fast.
MAX_RECORDS_PER_STUDENT = 2000
MAX_COMPETITORS_PER_CLASS = 200
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in")
ORDERED_KINDS = ("int", "money", "date", "datetime")

Problem = tuple[str, str]


def effective_codes(scenario: Scenario) -> dict[str, list[str]]:
    """Active codes per code table once the scenario's overrides are applied (defaults first)."""
    result: dict[str, list[str]] = {}
    for table in DEFAULT_CODES.keys() | scenario.codes.keys():
        codes = list(DEFAULT_CODES.get(table, ()))
        for override in scenario.codes.get(table, []):
            if override.code not in codes:
                codes.append(override.code)
            if not override.active:
                codes.remove(override.code)
        result[table] = codes
    return result


def _unknown(what: str, value: Any, known: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(value), list(known), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    listed = ", ".join(known) if len(known) <= 25 else ", ".join(known[:25]) + ", …"
    return f"unknown {what} {_show(value)}{hint}; expected one of: {listed}"


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _categories(nodes: list[Category], path: str, seen: set[str]) -> Iterator[Problem]:
    for i, node in enumerate(nodes):
        if node.name in seen:
            yield f"{path}[{i}].name", f'duplicate category "{node.name}"; category names must be unique'
        seen.add(node.name)
        yield from _categories(node.children, f"{path}[{i}].children", seen)


def _catalogue(s: Scenario, codes: dict[str, list[str]]) -> Iterator[Problem]:
    names: set[str] = set()
    yield from _categories(s.categories, "categories", names)
    seen: set[str] = set()
    for i, p in enumerate(s.products):
        if p.code in seen:
            yield f"products[{i}].code", f'duplicate product code "{p.code}"'
        seen.add(p.code)
        if p.category not in names:
            yield f"products[{i}].category", _unknown("category", p.category, sorted(names))
    for i, c in enumerate(s.competitors):
        for attr, table in (("threat_level", "threat_level"), ("company_type", "company_type")):
            value = getattr(c, attr)
            if value is not None and value not in codes[table]:
                yield f"competitors[{i}].{attr}", _unknown(f"{table} code", value, codes[table])
    if s.company.industry not in codes["industry"]:
        yield "company.industry", _unknown("industry code", s.company.industry, codes["industry"])
    for i, seg in enumerate(s.customers):
        if seg.industry not in codes["industry"]:
            yield f"customers[{i}].industry", _unknown("industry code", seg.industry, codes["industry"])
        for j, category in enumerate(seg.buys):
            if category not in names:
                yield f"customers[{i}].buys[{j}]", _unknown("category", category, sorted(names))


def _code_tables(s: Scenario) -> Iterator[Problem]:
    for table, values in s.codes.items():
        if table not in DEFAULT_CODES:
            yield f"codes.{table}", _unknown("code table", table, sorted(DEFAULT_CODES))
        seen: set[str] = set()
        for i, v in enumerate(values):
            if v.code in seen:
                yield f"codes.{table}[{i}].code", f'duplicate code "{v.code}"'
            seen.add(v.code)


def volume_parts(s: Scenario) -> dict[str, int]:
    """The most records of each kind one student's book can hold (ranges at their maximum)."""
    v, opp = s.volumes.per_student, s.volumes.per_student.opportunities
    return {"leads": v.leads, "accounts": v.accounts, "contacts": v.accounts * v.contacts_per_account[1],
            "opportunities": opp.count, "lines": opp.count * opp.lines[1],
            "opportunity competitors": opp.count * opp.competitors[1],
            "contact roles": opp.count * opp.contact_roles[1], "activities": v.activities,
            "campaigns": s.campaigns.per_student if s.campaigns else 0,
            "campaign members": s.campaigns.per_student * s.campaigns.members[1] if s.campaigns else 0,
            # a case and at most one history row per state of its workflow
            "cases": sum(n * (1 + len(FLOWS[w].states) if w in FLOWS else n)
                         for w, n in (s.cases.per_student.items() if s.cases else ()))}


def _volumes(s: Scenario) -> Iterator[Problem]:
    v, opp = s.volumes.per_student, s.volumes.per_student.opportunities
    competitors = max(s.volumes.per_class.competitors, len(s.competitors))
    if opp.count and not v.accounts:
        yield "volumes.per_student.accounts", "expected at least 1 account: opportunities belong to accounts"
    if opp.lines[1] and not s.products:
        yield "volumes.per_student.opportunities.lines", "expected no lines: the scenario lists no products"
    if opp.competitors[1] > competitors:
        yield ("volumes.per_student.opportunities.competitors",
               f"expected at most {competitors} (the competitors of the class), got {opp.competitors[1]}")
    if s.volumes.per_class.competitors > MAX_COMPETITORS_PER_CLASS:
        yield "volumes.per_class.competitors", f"expected at most {MAX_COMPETITORS_PER_CLASS}"
    parts = volume_parts(s)
    total = sum(parts.values())
    if total > MAX_RECORDS_PER_STUDENT:
        detail = " + ".join(f"{k} {n:,}" for k, n in parts.items() if n)
        yield ("volumes.per_student",
               f"expected at most {MAX_RECORDS_PER_STUDENT:,} records per student, these volumes make up to "
               f"{total:,} ({detail})")


def _value(kind: str, value: Any, codes: dict[str, list[str]]) -> str | None:
    """Why `value` cannot be compared with a field of `kind` (None: it can)."""
    if value is None:
        return None
    if kind.startswith("code:"):
        table = kind[5:]
        return None if value in codes[table] else _unknown(f"{table} code", value, codes[table])
    ok = {"text": isinstance(value, str), "bool": isinstance(value, bool), "ref": False, "json": False,
          "int": isinstance(value, int) and not isinstance(value, bool),
          "money": isinstance(value, int | float) and not isinstance(value, bool),
          "date": isinstance(value, date) and not isinstance(value, datetime),
          "datetime": isinstance(value, datetime | date)}[kind]
    expected = {"text": "text", "bool": "true or false", "ref": "null (a reference is only compared with null)",
                "json": "no value (the fields a workflow keeps are not compared)",
                "int": "an integer", "money": "a number", "date": "a date (YYYY-MM-DD)",
                "datetime": "a date or time (YYYY-MM-DD HH:MM:SS)"}[kind]
    return None if ok else f"expected {expected}, got {_show(value)}"


def _where(path: str, record_type: str, where: dict[str, Any], codes: dict[str, list[str]]) -> Iterator[Problem]:
    fields = RECORD_FIELDS[record_type]
    for name, condition in where.items():
        at = f"{path}.{name}"
        if name not in fields:
            yield at, _unknown(f"field of {record_type}", name, list(fields))
            continue
        kind = fields[name]
        ops = condition if isinstance(condition, dict) else {"in" if isinstance(condition, list) else "eq": condition}
        if not ops:
            yield at, "expected a value or {operator: value}"
        for op, value in ops.items():
            if op not in OPERATORS:
                yield f"{at}.{op}", _unknown("operator", op, OPERATORS)
                continue
            if op in ("gt", "gte", "lt", "lte") and kind not in ORDERED_KINDS:
                yield f"{at}.{op}", f"expected eq, ne or in: {record_type}.{name} is {kind}, not ordered"
                continue
            values = value if op == "in" else [value]
            if op == "in" and not isinstance(value, list):
                yield f"{at}.in", f"expected a list, got {_show(value)}"
                continue
            for item in values:
                problem = _value(kind, item, codes)
                if problem:
                    yield (f"{at}.{op}" if isinstance(condition, dict) else at), problem


def _verb(path: str, verb: str) -> Problem | None:
    if verb in VERBS:
        return None
    noun = verb.split(".", 1)[0]
    same = [v for v in VERBS if v.startswith(noun + ".")]
    if same:
        return path, _unknown(f"{noun} verb", verb, same)
    nouns = list(dict.fromkeys(v.split(".", 1)[0] for v in VERBS))
    return path, _unknown("verb", verb, VERBS) if "." not in verb else _unknown("record type in verb", noun, nouns)


def _objective_check(path: str, check: Any, codes: dict[str, list[str]]) -> Iterator[Problem]:
    """Problems of one objective's check, by its kind."""
    if isinstance(check, LogCount):
        yield from _log_count_check(path, check, codes)
    elif isinstance(check, RecordCount):
        yield from _record_count_check(path, check, codes)
    elif isinstance(check, Sequence):
        yield from _sequence_check(path, check)
    elif isinstance(check, CaseResolved):
        yield from _case_resolved_check(path, check)


def _case_resolved_check(path: str, check: CaseResolved) -> Iterator[Problem]:
    """A case_resolved's workflow, the states of its path and ends, and the moves between them."""
    flow = FLOWS.get(check.workflow)
    if flow is None:
        yield f"{path}.workflow", _unknown("workflow", check.workflow, list(FLOWS))
        return
    steps = list(check.path or flow.path)
    ends = list(check.ends or flow.ends)
    bad = False
    for key, states in (("path", check.path or []), ("ends", check.ends or [])):
        for i, state in enumerate(states):
            if state not in flow.states:
                bad = True
                yield f"{path}.{key}[{i}]", _unknown(f"state of {flow.key}", state, flow.states)
    if bad:
        return
    for i, (source, target) in enumerate(zip(steps, steps[1:], strict=False)):
        if not flow.allows(source, target):
            yield (f"{path}.path[{i + 1}]",
                   f"expected a state {source} can move to in {flow.key}; {source} → {target} is not a move")
    for i, end in enumerate(ends):
        if not flow.allows(steps[-1], end):
            yield (f"{path}.ends[{i}]",
                   f"expected a state {steps[-1]} can move to in {flow.key}; {steps[-1]} → {end} is not a move")
    if check.satisfaction and not set(ends) <= set(flow.closing):
        closing = ", ".join(flow.closing) or "none"
        yield f"{path}.satisfaction", (f"expected false: a satisfaction score is given on closing, and {flow.key} "
                                       f"ends {', '.join(ends)} do not all close (closing states: {closing})")
    if check.level is not None and (check.workflow != "complaint" or check.level > 5):
        yield f"{path}.level", "expected a complaint level from 1 to 5 (only complaints have levels)"


def _service(s: Scenario, codes: dict[str, list[str]]) -> Iterator[Problem]:
    """The generated cases' workflows and levels, and the knowledge articles' categories."""
    if s.cases is not None:
        for name in s.cases.per_student:
            if name not in FLOWS:
                yield f"cases.per_student.{name}", _unknown("workflow", name, list(FLOWS))
        for i, level in enumerate(s.cases.levels):
            if level > 5:
                yield f"cases.levels[{i}]", "expected a complaint level from 1 to 5"
    if s.campaigns is not None and s.campaigns.members[1] and not (
            s.volumes.per_student.leads or s.volumes.per_student.accounts):
        yield "campaigns.members", "expected no members: the students get no leads or contacts to invite"
    for i, article in enumerate(s.knowledge):
        if article.category not in codes["article_category"]:
            yield f"knowledge[{i}].category", _unknown("article_category code", article.category,
                                                     codes["article_category"])


def _log_count_check(path: str, check: LogCount, codes: dict[str, list[str]]) -> Iterator[Problem]:
    """A log_count's verb, object type, `per`, field and value."""
    bad = _verb(f"{path}.verb", check.verb)
    if bad:
        yield bad
        return
    allowed = object_types(check.verb)
    if check.object_type is not None and check.object_type not in allowed:
        yield f"{path}.object_type", _unknown(f"object type for {check.verb}", check.object_type, allowed)
        return
    if check.per == "parent" and check.verb not in CHILD_VERBS:
        yield f"{path}.per", (f"expected record: only verbs that add a child row ({', '.join(CHILD_VERBS)}) "
                              f"count per parent, not {check.verb}")
    noun = check.object_type or allowed[0]
    if check.field is not None and check.field not in RECORD_FIELDS[noun]:
        yield f"{path}.field", _unknown(f"field of {noun}", check.field, list(RECORD_FIELDS[noun]))
    elif check.to is not None:
        if check.field is None:
            yield f"{path}.to", "expected a field: `to` is the new value of `field`"
        else:
            problem = _value(RECORD_FIELDS[noun][check.field], check.to, codes)
            if problem:
                yield f"{path}.to", problem


def _record_count_check(path: str, check: RecordCount, codes: dict[str, list[str]]) -> Iterator[Problem]:
    """A record_count's record type, `where` fields and `with` children."""
    if check.record_type not in RECORD_FIELDS:
        yield f"{path}.record_type", _unknown("record type", check.record_type, list(RECORD_FIELDS))
        return
    yield from _where(f"{path}.where", check.record_type, check.where, codes)
    for i, child in enumerate(check.with_):
        if check.record_type != "opportunity":
            yield f"{path}.with[{i}]", f"expected no `with`: only opportunities have {', '.join(WITH_CHILDREN)}"
        elif child not in WITH_CHILDREN:
            yield f"{path}.with[{i}]", _unknown("child list", child, list(WITH_CHILDREN))


def _sequence_check(path: str, check: Sequence) -> Iterator[Problem]:
    """A sequence's steps, and whether they can act on the same record."""
    problems = [p for i, step in enumerate(check.steps) if (p := _verb(f"{path}.steps[{i}]", step))]
    yield from problems
    if not problems and check.same_record:
        common = set(subject_types(check.steps[0])).intersection(*(subject_types(s) for s in check.steps[1:]))
        if not common:
            yield f"{path}.same_record", "expected false: these steps never act on the same record"


def check_scenario(s: Scenario) -> list[Problem]:
    """Every cross-reference problem of a scenario as (path, message), in file order."""
    problems: list[Problem] = list(_code_tables(s))
    codes = effective_codes(s)
    problems += _catalogue(s, codes)
    problems += _volumes(s)
    problems += _service(s, codes)
    seen: set[str] = set()
    for i, objective in enumerate(s.objectives):
        if objective.id in seen:
            problems.append((f"objectives[{i}].id", f'duplicate objective id "{objective.id}"'))
        seen.add(objective.id)
        problems += _objective_check(f"objectives[{i}].check", objective.check, codes)
    return problems
