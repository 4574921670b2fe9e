"""A harvester process killed (SIGKILL) in the middle of a multi-page list leaves the source
resumable: the next run takes over the dead process's claim, continues at the page it had not
finished, and the collection ends with exactly the listed papers, each once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.harvest.oai_server import Provider, real_papers, serving

ROOT = Path(__file__).resolve().parents[2]


def _manage(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_a_killed_harvest_resumes_at_its_page_without_duplicates_or_gaps(tmp_path: Path) -> None:
    # Its own SQLite file: the harvester runs in separate processes, as an operator's would.
    database = tmp_path / "harvest.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PAPERSCOPE_IGNORE_DOTENV": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("REDIS_URL", None)
    migrate = _manage(env, "migrate", "--noinput", "-v0")
    assert migrate.wait(timeout=300) == 0, migrate.stderr.read() if migrate.stderr else ""

    papers = real_papers(30)
    provider = Provider(page_size=6, hold_page=3)
    provider.add(papers, "2026-11-02")
    with serving(provider) as url:
        args = ("harvest_arxiv", "--endpoint", url, "--set", "cs", "--from", "2026-11-01", "--page-delay", "0", "--no-embed")
        first = _manage(env, *args)
        assert provider.held.wait(timeout=120), "the harvester never reached page 3"
        first.send_signal(signal.SIGKILL)  # killed while waiting for page 3: pages 1-2 stored
        first.wait(timeout=30)
        provider.hold_page = None
        provider.release.set()

        with sqlite3.connect(database) as db:
            stored_before = db.execute("select count(*) from papers_paper").fetchone()[0]
            token, holder = db.execute("select resumption_token, lease_holder from harvest_harvestsource").fetchone()
        assert stored_before == 12 and token and holder  # two pages in, claimed by the dead process

        asked = len(provider.requests)
        second = _manage(env, "harvest_arxiv", "--endpoint", url, "--set", "cs", "--page-delay", "0", "--no-embed")
        out, err = second.communicate(timeout=300)
        assert second.returncode == 0, err

    assert "resumptionToken" in provider.requests[asked][1]  # resumed at page 3, not from the start
    assert "18 created" in out
    with sqlite3.connect(database) as db:
        ids = [row[0] for row in db.execute("select arxiv_id from papers_paper")]
        status, cursor, holder = db.execute("select status, cursor, lease_holder from harvest_harvestsource").fetchone()
    assert sorted(ids) == sorted(p["id"] for p in papers)  # exactly the listed papers, each once
    assert (status, cursor, holder) == ("ok", "2026-11-02", "")
