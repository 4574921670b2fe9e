"""`make test` runs a test marked ``one_pass`` (it touches no database, or names its own) in the
SQLite pass only: with PAPERSCOPE_TEST_PASS=postgresql (scripts/test.sh's second pass) it is
deselected, every other test still collected. A ``one_pass`` test that asks for the run's database
is refused at collection, so the mark cannot quietly drop a database test from the PostgreSQL pass.

Each case collects a small test file with this project's own conftest, in a pytest subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = '''
import pytest

pytestmark = pytest.mark.one_pass


def test_pure_arithmetic() -> None:
    assert 1 + 1 == 2
'''

DATABASE = '''
import pytest


@pytest.mark.django_db
def test_reads_the_database() -> None:
    assert True
'''

ONE_PASS_WITH_DATABASE = '''
import pytest


@pytest.mark.one_pass
def test_says_one_pass_but_reads_the_database(db) -> None:
    assert True
'''


def _collect(tmp_path: Path, files: dict[str, str], *, second_pass: bool) -> subprocess.CompletedProcess[str]:
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(ROOT / "tests" / "conftest.py", tests / "conftest.py")
    shutil.copy(ROOT / "pytest.ini", tmp_path / "pytest.ini")
    for name, text in files.items():
        (tests / name).write_text(text)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PAPERSCOPE_IGNORE_DOTENV": "1"}
    env.pop("PAPERSCOPE_TEST_PASS", None)
    if second_pass:
        env["PAPERSCOPE_TEST_PASS"] = "postgresql"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_postgresql_pass_leaves_out_only_the_one_pass_tests(tmp_path: Path) -> None:
    files = {"test_sample.py": SAMPLE, "test_database.py": DATABASE}
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = _collect(tmp_path / "first", files, second_pass=False)
    second = _collect(tmp_path / "second", files, second_pass=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "tests/test_sample.py::test_pure_arithmetic" in first.stdout
    assert "tests/test_database.py::test_reads_the_database" in first.stdout
    assert "2 tests collected" in first.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    assert "tests/test_sample.py::test_pure_arithmetic" not in second.stdout
    assert "tests/test_database.py::test_reads_the_database" in second.stdout
    assert "1/2 tests collected (1 deselected)" in second.stdout

def test_a_one_pass_test_that_asks_for_the_database_is_refused(tmp_path: Path) -> None:
    found = _collect(tmp_path, {"test_wrong.py": ONE_PASS_WITH_DATABASE}, second_pass=False)
    assert found.returncode != 0
    assert "is marked one_pass but uses the run's database (db)" in found.stdout + found.stderr
