"""`access.about_record`'s rule over bound parameters, for statements a record page builds once per process.

A record page read its notes, attachments and timeline with statements built on every request (about a
third of each one's cost). Built once with the record as parameters, a page only executes them. The
condition is `access.about_record`'s own, applied to a stand-in whose type, id and class are bound
parameters; a record without a class gets the variant with `IS NULL`, as the rule writes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam

from ..access import about_record


class _Bound:
    """A record as bound parameters (type, id, class), read by `about_record` as it reads a record."""

    __audit_type__ = bindparam("about_type")
    id = bindparam("about_id")
    class_id: Any = bindparam("about_class")


class _BoundWithoutClass(_Bound):
    """A record of no class, as bound parameters (type, id)."""

    class_id = None


def about(without_class: bool, type_column: Any, id_column: Any, class_column: Any) -> Any:
    """`about_record(record, type_column, id_column, class_column)` for any record of a class (or, with
    `without_class`, of none): execute with `about_params(record)`."""
    return about_record(_BoundWithoutClass if without_class else _Bound,  # type: ignore[arg-type]
                        type_column, id_column, class_column)


def about_params(obj: Any) -> dict[str, Any]:
    """The parameters of a statement built with `about`, for one record."""
    params = {"about_type": obj.__audit_type__, "about_id": obj.id}
    if obj.class_id is not None:
        params["about_class"] = obj.class_id
    return params
