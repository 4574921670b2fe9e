"""A local OAI-PMH data provider in arXiv's format, for harvest tests (127.0.0.1 only).

Written from the OAI-PMH 2.0 specification (ListRecords, resumptionToken with cursor and
completeListSize, noRecordsMatch, badResumptionToken, 503 + Retry-After flow control) and arXiv's
metadata format (http://arxiv.org/OAI/arXiv/: id, created, updated, authors as keyname and
forenames, title, categories, comments, journal-ref, doi, license, abstract). The records are
real arXiv papers from ../shared/data/arxiv-abstracts-115k; their datestamps are assigned here.

Faults on request: the first N requests answer 503 with Retry-After; page K answers malformed XML
once; a page can be held until the test releases it (to kill a harvester mid-list).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

from tests.conftest import SAMPLE_1K

OAI_NS = "http://www.openarchives.org/OAI/2.0/"


@dataclass
class OAIRecord:
    arxiv_id: str
    datestamp: str
    paper: dict[str, Any]
    deleted: bool = False

    @property
    def set_spec(self) -> str:
        primary = (self.paper.get("categories") or ["cs.LG"])[0]
        archive = primary.split(".")[0]
        return archive if archive in {"cs", "math", "stat", "eess", "econ", "q-bio", "q-fin"} else f"physics:{archive}"

    def xml(self) -> str:
        if self.deleted:
            return (
                f'<record><header status="deleted"><identifier>oai:arXiv.org:{self.arxiv_id}</identifier>'
                f"<datestamp>{self.datestamp}</datestamp><setSpec>{self.set_spec}</setSpec></header></record>"
            )
        p = self.paper
        authors = []
        for name in p.get("authors") or []:
            *forenames, keyname = name.split() or [""]
            authors.append(
                f"<author><keyname>{escape(keyname)}</keyname>"
                + (f"<forenames>{escape(' '.join(forenames))}</forenames>" if forenames else "")
                + "</author>"
            )
        extra = ""
        if p.get("doi"):
            extra += f"<doi>{escape(p['doi'])}</doi>"
        if p.get("journal_ref"):
            extra += f"<journal-ref>{escape(p['journal_ref'])}</journal-ref>"
        # arXiv hard-wraps titles and abstracts in its metadata.
        title = escape(p["title"]).replace(" ", "\n  ", 1)
        abstract = "\n  " + escape(p["abstract"]).replace(". ", ".\n", 2)
        return (
            f"<record><header><identifier>oai:arXiv.org:{self.arxiv_id}</identifier>"
            f"<datestamp>{self.datestamp}</datestamp><setSpec>{self.set_spec}</setSpec></header>"
            '<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://arxiv.org/OAI/arXiv/ http://arxiv.org/OAI/arXiv.xsd">'
            f"<id>{self.arxiv_id}</id><created>{p.get('published') or self.datestamp}</created>"
            f"<updated>{self.datestamp}</updated><authors>{''.join(authors)}</authors>"
            f"<title>{title}</title><categories>{' '.join(p.get('categories') or [])}</categories>"
            f"<comments>12 pages</comments>{extra}"
            "<license>http://creativecommons.org/licenses/by/4.0/</license>"
            f"<abstract>{abstract}</abstract></arXiv></metadata></record>"
        )


def real_papers(count: int, *, category_prefix: str = "cs.", skip: int = 0) -> list[dict[str, Any]]:
    """The first ``count`` papers of the real 1k sample whose primary category starts with the prefix."""
    papers = []
    with SAMPLE_1K.open(encoding="utf-8") as lines:
        for line in lines:
            paper = json.loads(line)
            if paper.get("authors") and (paper.get("categories") or [""])[0].startswith(category_prefix):
                papers.append(paper)
    return papers[skip : skip + count]


@dataclass
class Provider:
    """What the server serves and what it was asked."""

    records: list[OAIRecord] = field(default_factory=list)
    page_size: int = 10
    fail_503: int = 0  # the next N requests answer 503
    retry_after: int = 1
    malformed_page: int | None = None  # this page number (1-based) answers broken XML, once
    hold_page: int | None = None  # this page waits until `release` is set
    release: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    requests: list[tuple[float, dict[str, str], int]] = field(default_factory=list)  # (time, params, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, papers: list[dict[str, Any]], datestamp: str) -> None:
        self.records.extend(OAIRecord(p["id"], datestamp, p) for p in papers)

    def select(self, params: dict[str, str]) -> list[OAIRecord]:
        chosen = [r for r in self.records if not params.get("set") or r.set_spec == params["set"] or r.set_spec.startswith(params["set"] + ":")]
        if params.get("from"):
            chosen = [r for r in chosen if r.datestamp >= params["from"]]
        if params.get("until"):
            chosen = [r for r in chosen if r.datestamp <= params["until"]]
        return sorted(chosen, key=lambda r: (r.datestamp, r.arxiv_id))


def _envelope(params: dict[str, str], body: str) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    attributes = "".join(f' {k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in params.items() if k in {"verb", "metadataPrefix", "set", "from", "until", "resumptionToken"})
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
        f"<responseDate>{now}</responseDate><request{attributes}>http://127.0.0.1/oai</request>{body}</OAI-PMH>"
    )


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            with provider.lock:
                if provider.fail_503 > 0:
                    provider.fail_503 -= 1
                    provider.requests.append((time.monotonic(), params, 503))
                    self._send(503, "busy", {"Retry-After": str(provider.retry_after)})
                    return
            status, body = self._list_records(params)
            with provider.lock:
                provider.requests.append((time.monotonic(), params, status))
            self._send(status, body)

        def _list_records(self, params: dict[str, str]) -> tuple[int, str]:
            if params.get("verb") != "ListRecords":
                return 200, _envelope(params, '<error code="badVerb">only ListRecords here</error>')
            if "resumptionToken" in params:
                try:
                    query_json, offset = params["resumptionToken"].rsplit("|", 1)
                    query = json.loads(query_json)
                    start = int(offset)
                except ValueError:
                    return 200, _envelope(params, '<error code="badResumptionToken">unknown token</error>')
            else:
                if params.get("metadataPrefix") != "arXiv":
                    return 200, _envelope(params, '<error code="cannotDisseminateFormat">arXiv only</error>')
                query = {k: params[k] for k in ("set", "from", "until") if k in params}
                start = 0
            chosen = provider.select(query)
            if not chosen:
                return 200, _envelope(params, '<error code="noRecordsMatch">no records</error>')
            page_number = start // provider.page_size + 1
            if provider.hold_page == page_number:
                provider.held.set()
                provider.release.wait(60)
            if provider.malformed_page == page_number:
                provider.malformed_page = None
                return 200, _envelope(params, "<ListRecords><record><header><identifier>oai:arXiv.org:")  # cut off
            page = chosen[start : start + provider.page_size]
            end = start + len(page)
            token = ""
            if end < len(chosen):
                token = escape(f"{json.dumps(query, separators=(',', ':'))}|{end}")
            token_xml = f'<resumptionToken cursor="{start}" completeListSize="{len(chosen)}">{token}</resumptionToken>'
            return 200, _envelope(params, f"<ListRecords>{''.join(r.xml() for r in page)}{token_xml}</ListRecords>")

    return Handler


@contextmanager
def serving(provider: Provider) -> Iterator[str]:
    """Serve ``provider`` on 127.0.0.1 (a free port); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/oai"
    finally:
        provider.release.set()
        server.shutdown()
        server.server_close()


def datestamps(provider: Provider) -> list[str]:
    return sorted({r.datestamp for r in provider.records})


__all__ = ["OAIRecord", "Provider", "datestamps", "real_papers", "serving"]
