"""`make`'s venv step installs a pinned pip before the requirements (the venv's bundled pip, e.g.
23.2.1, varies with the Python that made it), so every install resolves with the same pip."""

from __future__ import annotations

import re
import subprocess

from tests.prod.helpers import ROOT


def test_the_venv_step_installs_the_pinned_pip_first() -> None:
    pinned = re.search(r"^PIP_VERSION := (\d+(?:\.\d+)+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert pinned, "Makefile sets no PIP_VERSION"
    steps = subprocess.run(
        ["make", "-n", "-B", "VENV=/nonexistent/venv", "/nonexistent/venv/.installed"],  # noqa: S607 - print only
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    pip_step = next(i for i, line in enumerate(steps) if f'pip install -q "pip=={pinned[1]}"' in line)
    requirements_step = next(i for i, line in enumerate(steps) if "-r requirements-dev.txt" in line)
    assert pip_step < requirements_step
