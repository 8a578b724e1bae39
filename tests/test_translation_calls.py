"""Every string the UI translates reaches the catalogue: no message is built at run time.

Babel extracts only literal arguments of `_`, `_l`, `N_`, `gettext`, `lazy_gettext`, `ngettext`. An
f-string, a concatenation, a `%` or a `.format()` inside the call (or a `_()` call hidden inside an
f-string, which Python 3.11's tokenizer hands Babel as one opaque string) is never extracted, so the
text stays English for everyone. Translating a variable is allowed: it is how strings marked with
`N_` elsewhere are shown (`_(ROLES[role])`).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = {"_", "_l", "N_", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext"}
BUILT = (ast.JoinedStr, ast.BinOp)


def _name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _built(node: ast.AST) -> bool:
    """A message made at run time: an f-string, `+`/`%` of strings, or `"...".format(...)`."""
    if isinstance(node, BUILT):
        return True
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant))


def problems_in(source: str, filename: str) -> list[str]:
    """The translation calls of one Python source that Babel cannot extract."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and _name(node) in FUNCTIONS and node.args and _built(node.args[0]):
            found.append(f"{filename}:{node.lineno}: {_name(node)}() of a message built at run time")
        if isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call) and _name(inner) in FUNCTIONS:
                    found.append(f"{filename}:{inner.lineno}: {_name(inner)}() inside an f-string is never extracted")
    return found


def test_the_check_sees_each_kind_of_built_message() -> None:
    """The check recognises each kind of message built at run time."""
    source = (
        'x = _(f"Hello {name}")\n'
        'y = _("Hello " + name)\n'
        'z = gettext("Hello {}".format(name))\n'
        'w = f"{company} · {_(\'new business\')}"\n'
        'ok = _("Hello %(name)s", name=name)\n'
        'also_ok = _(ROLES[role])\n'
    )
    found = problems_in(source, "example.py")
    assert [line.split(":")[1] for line in found] == ["1", "2", "3", "4"], found


def test_no_translation_call_takes_a_message_built_at_run_time() -> None:
    """No translation call takes a message built at run time."""
    found: list[str] = []
    for folder in ("sandbox", "bench", "seed"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += problems_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "Babel cannot extract these; pass a literal with %(name)s placeholders:\n" + "\n".join(found)
