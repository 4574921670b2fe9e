"""CSV with a header row, one paper per row.

The column names are the JSON-lines field names (see ``papers.importers.jsonl``): title,
abstract, authors, categories, published, arxiv_id (or id), doi, url, pdf_url; case and
surrounding spaces in the header are ignored, unknown columns too. ``authors`` is separated
by ";" only, since commas belong to names ("Curie, Marie; Curie, Pierre"); ``categories`` by
spaces or ";". Sources name the physical line on which a row starts, so a quoted abstract
spanning several lines still points at its first line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from papers.importers.common import BOM, GZIP_ERRORS, MAX_LINE_BYTES, clean_text
from papers.importers.jsonl import record_from_fields
from papers.records import PaperRecord, RecordError


def parse(stream: BinaryIO, name: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one record or error per non-blank data row of ``stream``."""
    bad_lines: dict[int, str] = {}

    def text_lines() -> Iterator[str]:
        # The csv module wants text; a line that is not UTF-8 is decoded leniently so the
        # reader keeps its place, and the row that contains it is reported below. A line over
        # the size limit is never held whole: it is read past and its row reported.
        number = 0
        while raw := stream.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                bad_lines[number] = f"line longer than {MAX_LINE_BYTES // 1048576} MiB"
                yield "\n"
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                bad_lines[number] = "invalid UTF-8"
                text = raw.decode("utf-8", "replace")
            if number == 1:
                text = text.removeprefix(BOM)
            yield text.replace("\x00", "")

    reader = csv.reader(text_lines())
    try:
        header = next(reader, None)
        if header is None:
            return
        keys = [clean_text(cell).lower() for cell in header]
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RecordError(f"{name}:{start}", f"invalid CSV ({exc})")
                start = reader.line_num + 1
                continue
            first, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            source = f"{name}:{first}"
            spanned = sorted(bad_lines.keys() & set(range(first, start)))
            if spanned:
                reason = bad_lines[spanned[0]]
                for number in spanned:
                    del bad_lines[number]
                yield RecordError(source, reason)
                continue
            yield record_from_fields(dict(zip(keys, row)), source, split_commas=False)
    except GZIP_ERRORS as exc:
        yield RecordError(f"{name}:{reader.line_num + 1}", f"truncated or corrupt gzip data ({exc})")
