"""The import page of every record type (GET: the form and the accepted columns; POST: the result)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SubmitField

from ..extensions import db
from . import importing
from .import_service import ImportAborted, run_import
from .importing import ImportFileError, RowError
from .services import NotAllowed

SHOWN_ERRORS = 500


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a CSV file."))])
    mode = RadioField(_l("If some rows have errors"), default="all", choices=[
        ("all", _l("Import nothing; I will fix the file and upload it again")),
        ("good", _l("Import only the good rows")),
    ])
    submit = SubmitField(_l("Import"))


@dataclass
class ImportResult:
    """What the result page shows."""

    total: int = 0
    imported: int = 0
    bad_rows: int = 0
    seconds: float = 0.0
    good_rows_only: bool = False
    errors: list[RowError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def shown_errors(self) -> list[RowError]:
        return self.errors[:SHOWN_ERRORS]


def import_file(v: Any, data: bytes, filename: str, good_rows_only: bool) -> ImportResult:
    """Parse, check and import one file (the caller has set who acts); commits or rolls back.

    Raises ImportFileError when the file as a whole cannot be used.
    """
    started = time.perf_counter()
    check = importing.validate(v, importing.parse(v, data, filename))
    return finish(v, check, filename, good_rows_only, started)


def finish(v: Any, check: importing.ImportCheck, filename: str, good_rows_only: bool, started: float,
           progress: Any = None) -> ImportResult:
    """Import the checked rows as the user chose, commit, and sum up (shared with the CLI)."""
    result = ImportResult(total=check.total, good_rows_only=good_rows_only, errors=list(check.errors),
                          ignored=check.ignored)
    try:
        count, refused = run_import(v, check, good_rows_only, filename, progress=progress)
        db.session.commit()
    except ImportAborted as exc:
        db.session.rollback()
        count, refused = 0, exc.errors
    except Exception:
        db.session.rollback()
        raise
    result.errors = sorted(result.errors + refused, key=lambda e: e.line)
    result.imported = count
    result.bad_rows = len({e.line for e in result.errors})
    result.seconds = time.perf_counter() - started
    return result


def import_page(v: Any) -> Any:
    """GET: the form and accepted columns; POST: check and import, then the counts and per-row errors."""
    if not current_user.can_change or not getattr(v, "may_create", True):
        abort(403)  # importing creates records: whoever may not create this type may not import it
    form = ImportForm()
    result = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = import_file(v, upload.read(), upload.filename or "", form.mode.data == "good")
        except ImportFileError as exc:
            form.file.errors.append(exc.message)
        except NotAllowed:
            abort(403)
    status = 400 if form.errors else 200
    return v.render("records/import.html", form=form, result=result, columns=importing.column_help(v)), status
