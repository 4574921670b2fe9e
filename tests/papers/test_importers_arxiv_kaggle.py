"""Lines of the Kaggle arXiv metadata snapshot become records with dates, authors and links."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from papers.importers import read_records
from papers.records import PaperRecord, RecordError

# The first two lines of arxiv-metadata-oai-snapshot.json (abstracts shortened), plus an
# old-style id with a name suffix and no versions, and one with only an authors string.
SNAPSHOT = [
    {
        "id": "0704.0001",
        "submitter": "Pavel Nadolsky",
        "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
        "title": "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies",
        "comments": "37 pages, 15 figures; published version",
        "journal-ref": "Phys.Rev.D76:013009,2007",
        "doi": "10.1103/PhysRevD.76.013009",
        "report-no": "ANL-HEP-PR-07-12",
        "categories": "hep-ph",
        "license": None,
        "abstract": "  A fully differential calculation in perturbative quantum chromodynamics is\n"
        "presented for the production of massive photon pairs at hadron colliders.\n",
        "versions": [
            {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
            {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
        ],
        "update_date": "2008-11-13",
        "authors_parsed": [["Balázs", "C.", ""], ["Berger", "E. L.", ""], ["Nadolsky", "P. M.", ""], ["Yuan", "C. -P.", ""]],
    },
    {
        "id": "0704.0002",
        "submitter": "Louis Theran",
        "authors": "Ileana Streinu and Louis Theran",
        "title": "Sparsity-certifying Graph Decompositions",
        "comments": "To appear in Graphs and Combinatorics",
        "journal-ref": None,
        "doi": None,
        "categories": "math.CO cs.CG",
        "abstract": "  We describe a new algorithm, the $(k,\\ell)$-pebble game with colors, and use\n"
        "it obtain a characterization of the family of $(k,\\ell)$-sparse graphs.\n",
        "versions": [{"version": "v1", "created": "Sat, 31 Mar 2007 02:26:18 GMT"}],
        "update_date": "2008-12-13",
        "authors_parsed": [["Streinu", "Ileana", ""], ["Theran", "Louis", ""]],
    },
    {
        "id": "hep-th/9901001",
        "submitter": "A. Person",
        "authors": "J. Smith Jr",
        "title": "An old-style identifier",
        "abstract": "With a suffix in authors_parsed and no versions.",
        "categories": "hep-th gr-qc",
        "update_date": "1999-01-04",
        "authors_parsed": [["Smith", "J.", "Jr"]],
    },
    {
        "id": "1001.0001",
        "submitter": "B. Person",
        "authors": "Ann Author, Bo Builder and Cy Coder",
        "title": "Only an authors string",
        "abstract": "And a created date that is not a date.",
        "categories": "cs.LG",
        "versions": [{"version": "v1", "created": "yesterday"}],
        "update_date": "2010-01-05",
    },
]


def kaggle_file(tmp_path: Path) -> Path:
    path = tmp_path / "arxiv-metadata-oai-snapshot.json"
    path.write_text("".join(json.dumps(obj) + "\n" for obj in SNAPSHOT) + '{"id": "0704.0003", "submitter": "x"}\n')
    return path


def test_the_snapshot_is_detected_and_every_line_is_read(tmp_path: Path) -> None:
    results = list(read_records(kaggle_file(tmp_path)))
    assert [type(r) for r in results] == [PaperRecord] * 4 + [RecordError]
    assert results[-1].source == "arxiv-metadata-oai-snapshot.json:5"


def test_published_is_the_first_version_date_else_the_update_date(tmp_path: Path) -> None:
    records = list(read_records(kaggle_file(tmp_path), fmt="arxiv-kaggle"))[:4]
    assert [r.published for r in records] == [
        dt.date(2007, 4, 2),
        dt.date(2007, 3, 31),
        dt.date(1999, 1, 4),
        dt.date(2010, 1, 5),
    ]


def test_authors_come_from_authors_parsed_as_first_last_suffix(tmp_path: Path) -> None:
    records = list(read_records(kaggle_file(tmp_path)))[:4]
    assert records[0].authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan")
    assert records[1].authors == ("Ileana Streinu", "Louis Theran")
    assert records[2].authors == ("J. Smith Jr",)
    assert records[3].authors == ("Ann Author", "Bo Builder", "Cy Coder")


def test_hard_wrapped_title_and_abstract_are_collapsed(tmp_path: Path) -> None:
    first = next(iter(read_records(kaggle_file(tmp_path))))
    assert first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert first.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics is presented")


def test_ids_categories_doi_and_links(tmp_path: Path) -> None:
    first, second, old, _ = list(read_records(kaggle_file(tmp_path)))[:4]
    assert (first.arxiv_id, first.doi, first.categories) == ("0704.0001", "10.1103/physrevd.76.013009", ("hep-ph",))
    assert first.links == {
        "abs": "https://arxiv.org/abs/0704.0001",
        "pdf": "https://arxiv.org/pdf/0704.0001",
        "doi": "https://doi.org/10.1103/physrevd.76.013009",
    }
    assert (second.doi, second.categories) == ("", ("math.CO", "cs.CG"))
    assert old.arxiv_id == "hep-th/9901001"
    assert old.links["abs"] == "https://arxiv.org/abs/hep-th/9901001"
