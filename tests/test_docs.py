"""The architecture page lives in the repository, the README points at it, and the files it names exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_points_at_the_architecture_page_in_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/ARCHITECTURE.md" in readme and "../shared/" not in readme
    assert (ROOT / "docs" / "ARCHITECTURE.md").is_file()


def test_every_path_the_architecture_page_names_exists():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:sandbox|seed|bench|tests|templates|migrations|scenarios)/[\w./]*)`", text))
    # Module names given relative to their package in the same sentence (`records/extras.py`).
    named |= {f"sandbox/{p}" for p in re.findall(r"`((?:records|classroom|org)/[\w.]+\.py)`", text)}
    assert len(named) > 10
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
    assert missing == []
    for module in re.findall(r"`(\w+\.py)`", text):
        assert list(ROOT.glob(f"sandbox/**/{module}")) or list(ROOT.glob(f"seed/{module}")), module
