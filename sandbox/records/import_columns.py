"""Which field each column of an import file fills: exact names, remembered choices, shipped aliases.

A target is a field name, `ignore`, or a part of a composed field (`name:first`, `address:city`…). The
order of trust: what the user chose now (web mapping step, CLI `--map`), what the same user chose for the
same header and record type before, the field's own names and labels (and our export's extra columns),
then the aliases of other systems (import_aliases.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from .import_aliases import HEADER_ALIASES, IGNORE

NAME_PARTS = ("first", "last")
ADDRESS_PARTS = ("street", "city", "state", "zip", "country")
COMPOSED = {"name": NAME_PARTS, "address": ADDRESS_PARTS, "billing_address": ADDRESS_PARTS,
            "shipping_address": ADDRESS_PARTS}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def key(header: str) -> str:
    """A header as compared: no BOM, `*` or `_`, single spaces, case-folded."""
    return " ".join(header.replace("\ufeff", "").replace("*", "").replace("_", " ").split()).casefold()


def part_label(part: str) -> str:
    """The readable name of a part of a composed field."""
    return {
        "first": _("given name"), "last": _("family name"), "street": _("street"), "city": _("city"),
        "state": _("province / state"), "zip": _("postal code"), "country": _("country"),
    }[part]


def targets(rt: Any) -> list[tuple[str, str]]:
    """Every target a column of this type may fill, as (value, label) for a select; `ignore` first."""
    found = [(IGNORE, _("Ignore this column"))]
    for name in rt.import_fields:
        found.append((name, rt.field_label(name)))
        for part in COMPOSED.get(name, ()):
            found.append((f"{name}:{part}", _("%(field)s (%(part)s)", field=rt.field_label(name), part=part_label(part))))
    return found


def target_label(rt: Any, target: str | None) -> str:
    """How a target reads to the user."""
    return dict(targets(rt)).get(target or "", _("not recognised"))


def aliases(rt: Any) -> dict[str, tuple[str, str]]:
    """Normalised header -> (target, source system) of the shipped aliases valid for this type."""
    valid = {value for value, _label in targets(rt)}
    found: dict[str, tuple[str, str]] = {}
    for system, by_type in HEADER_ALIASES.items():
        for header, target in by_type.get(rt.model.__audit_type__, {}).items():
            if target in valid:
                found.setdefault(key(header), (target, system))
    return found


@dataclass
class Column:
    """One column of the file: its header, what it fills, why, and a few sample values."""

    index: int
    header: str
    target: str | None  # None: not recognised
    how: str  # "exact", "remembered", "chosen", an alias's source system, or "" when not recognised
    samples: list[str]


def resolve(rt: Any, header: list[str], exact: dict[str, str], remembered: dict[str, str],
            chosen: dict[int, str] | None = None) -> list[Column]:
    """The target of every column (`exact` holds the field names, labels and export columns)."""
    shipped = aliases(rt)
    valid = {value for value, _label in targets(rt)}
    columns = []
    for i, text in enumerate(header):
        k = key(text)
        if chosen is not None and i in chosen:
            target, how = chosen[i], "chosen"
        elif not k:
            target, how = IGNORE, "exact"
        elif remembered.get(k[:200]) in valid:  # a choice of a field that has since gone no longer applies
            target, how = remembered[k[:200]], "remembered"
        elif k in exact:
            target, how = exact[k], "exact"
        elif k in shipped:
            target, how = shipped[k]
        else:
            target, how = None, ""
        columns.append(Column(i, text, target, how, []))
    return columns


def default_target(rt: Any, header: str, exact: dict[str, str]) -> str | None:
    """What a header maps to without any remembered choice (remembering it again would add nothing)."""
    k = key(header)
    if not k:
        return IGNORE
    if k in exact:
        return exact[k]
    found = aliases(rt).get(k)
    return found[0] if found else None


def problems(rt: Any, columns: list[Column], required: list[str]) -> list[str]:
    """Why this mapping cannot be used: unrecognised columns, fields filled twice, required ones missing."""
    found = []
    unknown = [c.header for c in columns if c.target is None]
    if unknown:
        found.append(_("Unknown columns: %(cols)s.", cols=", ".join(f"“{h}”" for h in unknown)))
    used = [c.target for c in columns if c.target not in (None, IGNORE)]
    twice = sorted({t for t in used if used.count(t) > 1})
    if twice:
        found.append(_("These columns appear twice: %(cols)s.",
                       cols=", ".join(target_label(rt, t) for t in twice)))
    filled = {str(t).split(":", 1)[0] for t in used}
    missing = [rt.field_label(n) for n in required if n not in filled]
    if missing:
        found.append(_("Required columns are missing: %(cols)s.", cols=", ".join(missing)))
    return found


def compose(field: str, parts: dict[str, str], whole: str = "") -> str:
    """A composed field's text: the whole column when given, else its parts in the reader's order.

    Names: a Chinese name is family name then given name with no space (王 + 小明 → 王小明); others read
    "given family". Addresses: Chinese ones run from country down to street with no separator, others
    "street, city, state zip, country".
    """
    if whole:
        return whole
    values = {p: parts.get(p, "").strip() for p in COMPOSED[field]}
    chinese = any(_CJK.search(x) for x in values.values())
    if field == "name":
        first, last = values["first"], values["last"]
        return f"{last}{first}" if chinese else " ".join(x for x in (first, last) if x)
    if chinese:
        return "".join(values[p] for p in ("country", "state", "city", "street")) + (
            f" {values['zip']}" if values["zip"] else "")
    state_zip = " ".join(x for x in (values["state"], values["zip"]) if x)
    return ", ".join(x for x in (values["street"], values["city"], state_zip, values["country"]) if x)
