"""An arXiv API Atom feed becomes one record per entry; a broken feed keeps what came before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from papers.importers import read_records
from papers.records import PaperRecord, RecordError

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query%3Dall%3Aattention%26id_list%3D%26start%3D0%26max_results%3D2" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=all:attention&amp;id_list=&amp;start=0&amp;max_results=2</title>
  <id>http://arxiv.org/api/cHxbiOdZaP56ODnBPIenZhzg5f8</id>
  <updated>2024-05-01T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">2</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">2</opensearch:itemsPerPage>
  <entry>
    <id>http://arxiv.org/abs/1706.03762v7</id>
    <updated>2023-08-02T00:41:18Z</updated>
    <published>2017-06-12T17:57:34Z</published>
    <title>Attention Is All You Need</title>
    <summary>  The dominant sequence transduction models are based on complex recurrent or
convolutional neural networks in an encoder-decoder configuration. We propose
a new simple network architecture, the Transformer.
</summary>
    <author>
      <name>Ashish Vaswani</name>
    </author>
    <author>
      <name>Noam Shazeer</name>
    </author>
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">15 pages, 5 figures</arxiv:comment>
    <link href="http://arxiv.org/abs/1706.03762v7" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/1706.03762v7" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
  <entry>
    <id>http://arxiv.org/abs/hep-th/9711200v3</id>
    <updated>1998-01-22T20:33:20Z</updated>
    <published>1997-11-27T22:10:51Z</published>
    <title>The Large N Limit of Superconformal Field Theories and
  Supergravity</title>
    <summary>  We show that the large N limit of certain conformal field theories in various
dimensions include in their Hilbert space a sector describing supergravity.
</summary>
    <author>
      <name>Juan M. Maldacena</name>
    </author>
    <arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">10.1023/A:1026654312961</arxiv:doi>
    <link title="doi" href="http://dx.doi.org/10.1023/A:1026654312961" rel="related"/>
    <arxiv:journal_ref xmlns:arxiv="http://arxiv.org/schemas/atom">Adv.Theor.Math.Phys.2:231-252,1998</arxiv:journal_ref>
    <link href="http://arxiv.org/abs/hep-th/9711200v3" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/hep-th/9711200v3" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
    <category term="gr-qc" scheme="http://arxiv.org/schemas/atom"/>
    <category term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>
"""


def feed_file(tmp_path: Path, text: str = FEED) -> Path:
    path = tmp_path / "query.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_entry_becomes_a_record_named_by_its_position(tmp_path: Path) -> None:
    records = list(read_records(feed_file(tmp_path)))
    assert all(isinstance(r, PaperRecord) for r in records)
    assert [r.source for r in records] == ["query.xml:entry 1", "query.xml:entry 2"]


def test_entry_fields_are_read_and_normalised(tmp_path: Path) -> None:
    transformer, maldacena = read_records(feed_file(tmp_path), fmt="arxiv-atom")
    assert isinstance(transformer, PaperRecord) and isinstance(maldacena, PaperRecord)
    assert transformer.arxiv_id == "1706.03762"
    assert transformer.title == "Attention Is All You Need"
    assert transformer.abstract.startswith("The dominant sequence transduction models are based on complex recurrent or convolutional")
    assert transformer.authors == ("Ashish Vaswani", "Noam Shazeer")
    assert transformer.categories == ("cs.CL", "cs.LG")
    assert transformer.published == dt.date(2017, 6, 12)
    assert transformer.links == {"abs": "https://arxiv.org/abs/1706.03762", "pdf": "https://arxiv.org/pdf/1706.03762"}

    assert maldacena.arxiv_id == "hep-th/9711200"
    assert maldacena.title == "The Large N Limit of Superconformal Field Theories and Supergravity"
    assert maldacena.categories == ("hep-th", "gr-qc")  # primary category first, no repeat
    assert maldacena.doi == "10.1023/a:1026654312961"
    assert maldacena.links["doi"] == "https://doi.org/10.1023/a:1026654312961"


def test_malformed_xml_after_good_entries_yields_them_then_an_error(tmp_path: Path) -> None:
    broken = FEED.replace("<title>The Large N Limit", "<title>The Large N Limit <b>unclosed")
    results = list(read_records(feed_file(tmp_path, broken)))
    assert isinstance(results[0], PaperRecord) and results[0].arxiv_id == "1706.03762"
    assert len(results) == 2
    error = results[1]
    assert isinstance(error, RecordError)
    assert error.reason.startswith("malformed XML (mismatched tag")
    line = int(error.source.removeprefix("query.xml:"))
    assert broken.split("\n")[line - 1] == "  Supergravity</title>"


def test_an_api_error_feed_is_reported_not_imported(tmp_path: Path) -> None:
    error_feed = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
  </entry>
</feed>
"""
    [error] = read_records(feed_file(tmp_path, error_feed))
    assert error == RecordError("query.xml:entry 1", "arXiv API error: incorrect id format for 1234.12345")
