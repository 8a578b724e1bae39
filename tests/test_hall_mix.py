"""`python -m bench.hall_mix`: the lecture hall's mix in process, end to end on SQLite, and its bad input.

It asserts what the run proves, never timings: every request of the plan answered, and the record rule's options
were built per shape of the rule, not per student (20 students of one class share a handful of shapes).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def hall_mix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench.hall_mix", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_mix_runs_and_the_rule_is_built_per_shape_not_per_student() -> None:
    done = hall_mix("--students", "20", "--requests-per-student", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    requests = int(re.search(r"^ALL\s+(\d+)\s+([\d.]+)$", done.stdout, re.M).group(1))
    assert requests == 20 * 2 + 1  # and the instructor's gradebook once
    assert float(re.search(r"^ALL\s+\d+\s+([\d.]+)$", done.stdout, re.M).group(1)) > 0
    built = int(re.search(r"record-rule option sets built: (\d+)", done.stdout).group(1))
    assert 0 < built < 10, built


def test_bad_counts_are_refused_on_stderr() -> None:
    done = hall_mix("--students", "0")
    assert done.returncode == 2 and "at least 1" in done.stderr
