"""Paper file parsers: the parse step of an import, pure (no ORM) and streaming.

``read_records(path_or_file)`` yields a ``PaperRecord`` per paper and a ``RecordError`` per
unreadable one, then carries on, so one bad line never stops an import. The format is detected
from the content (never from the file name) unless given; gzip is undone on the fly. Memory
stays flat whatever the file size: line formats are read line by line, Atom feeds entry by
entry. One module per format documents its fields.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, cast

from papers.importers import arxiv_atom, arxiv_kaggle, arxiv_oai, beir, csvfile, hfpage, jsonl
from papers.importers.common import BOM, GZIP_ERRORS
from papers.records import PaperRecord, RecordError

__all__ = ["FORMATS", "detect_format", "read_records"]

FORMATS: tuple[str, ...] = ("auto", "hfpage", "jsonl", "csv", "arxiv-kaggle", "arxiv-atom", "arxiv-oai", "beir")
HEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"

Parser = Callable[[BinaryIO, str], Iterator[PaperRecord | RecordError]]
PARSERS: dict[str, Parser] = {
    "hfpage": hfpage.parse,
    "jsonl": jsonl.parse,
    "csv": csvfile.parse,
    "arxiv-kaggle": arxiv_kaggle.parse,
    "arxiv-atom": arxiv_atom.parse,
    "arxiv-oai": arxiv_oai.parse,
    "beir": beir.parse,
}
KAGGLE_KEYS = frozenset({"versions", "authors_parsed", "submitter"})


def detect_format(head: bytes) -> str:
    """Name the format of a file from its first bytes (up to ~64 KiB, already gunzipped).

    Raises ValueError when the content matches none of the formats.
    """
    text = head.decode("utf-8", "replace").replace("\r\n", "\n").lstrip(BOM + " \t\r\n")
    if not text:
        raise ValueError("cannot detect the format of an empty file")
    if text.startswith("<"):
        return "arxiv-oai" if "<OAI-PMH" in text[:4096] else "arxiv-atom"
    if text.startswith("{"):
        return _json_flavour(text)
    if _is_csv_header(text.split("\n", 1)[0]):
        return "csv"
    if _looks_like_hfpage(text, truncated=len(head) >= HEAD_BYTES):
        return "hfpage"
    raise ValueError(
        "cannot detect the format: expected an Atom feed, JSON lines, a CSV file with a "
        "'title' column or a Hugging Face Papers listing; pass the format explicitly"
    )


def _json_flavour(text: str) -> str:
    """Tell BEIR and Kaggle JSON lines from generic ones by the first object's keys."""
    for line in text.split("\n"):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue  # a blank, broken or cut-off line: look at the next one
        if isinstance(obj, dict):
            if "_id" in obj and "text" in obj:
                return "beir"
            if KAGGLE_KEYS & obj.keys():
                return "arxiv-kaggle"
            return "jsonl"
    return "jsonl"


def _is_csv_header(line: str) -> bool:
    """A first line with a "title" column among several reads as a CSV header."""
    cells = [cell.strip().lower() for cell in next(csv.reader([line]), [])]
    return len(cells) > 1 and "title" in cells


def _looks_like_hfpage(text: str, *, truncated: bool) -> bool:
    """Paragraphs alternate between a one-line title and a longer abstract."""
    if "\ufffd" in text or "\x00" in text:
        return False  # not UTF-8 text
    blocks = [block.strip() for block in text.split("\n\n")]
    blocks = [block for block in blocks if block and not hfpage.is_header(block)]
    if truncated:
        blocks = blocks[:-1]  # the last paragraph may be cut off by the 64 KiB limit
    pairs = list(zip(blocks[::2], blocks[1::2]))
    return bool(pairs) and all(
        "\n" not in title and len(title) <= hfpage.MAX_TITLE_CHARS and len(abstract) > len(title)
        for title, abstract in pairs
    )


def read_records(
    source: str | Path | BinaryIO, *, fmt: str = "auto", name: str | None = None, max_bytes: int | None = None
) -> Iterator[PaperRecord | RecordError]:
    """Yield the records of a paper file: a path, or a binary file object such as an upload.

    ``fmt`` is one of ``FORMATS`` ("auto" detects it from the content); ``name`` is what
    sources say ("name:line"), by default the file's name. gzip content is read through.
    Raises ValueError for an unknown format name or content whose format cannot be
    detected; bad records do not raise but come out as RecordError. With ``max_bytes``, content
    that unpacks to more than that raises ValueError when reading reaches the limit (a small
    gzip can hold gigabytes; admin uploads are capped this way).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    opened: BinaryIO | None = None
    stream: BinaryIO
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        name = name or path.name
        stream = opened = path.open("rb")
    else:
        stream = source
        name = name or Path(str(getattr(source, "name", "") or "upload")).name
    try:
        head, stream = _peek(stream)
        if head.startswith(GZIP_MAGIC):
            try:
                unpacked = cast(BinaryIO, gzip.GzipFile(fileobj=stream, mode="rb"))  # noqa: SIM115 - closed with the stream
                if max_bytes is not None:
                    unpacked = io.BufferedReader(_Capped(unpacked, max_bytes))
                head, stream = _peek(unpacked)
            except GZIP_ERRORS as exc:
                raise ValueError(f"not valid gzip data ({exc})") from exc
        if fmt == "auto":
            fmt = detect_format(head)
    except BaseException:
        if opened:
            opened.close()
        raise
    return _records(PARSERS[fmt], stream, name, opened)


def _records(
    parser: Parser, stream: BinaryIO, name: str, opened: BinaryIO | None
) -> Iterator[PaperRecord | RecordError]:
    """Run the parser lazily and close the file read_records opened once it is done."""
    try:
        yield from parser(stream, name)
    finally:
        if opened:
            opened.close()  # only what read_records opened; an upload belongs to the caller


def _peek(stream: BinaryIO) -> tuple[bytes, BinaryIO]:
    """Read the first bytes of ``stream`` and return them with a stream that starts over."""
    chunks: list[bytes] = []
    size = 0
    while size < HEAD_BYTES and (chunk := stream.read(HEAD_BYTES - size)):
        chunks.append(chunk)
        size += len(chunk)
    head = b"".join(chunks)
    return head, io.BufferedReader(_Replay(head, stream), buffer_size=HEAD_BYTES)


class _Replay(io.RawIOBase):
    """``head`` again, then the rest of ``stream``.

    Uploads and pipes cannot always seek back, and gzip content only exists as a stream,
    so the peeked bytes are replayed instead.
    """

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Capped(io.RawIOBase):
    """``stream`` until ``limit`` bytes have been read; past that, ValueError."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._left = limit
        self._limit = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            raise ValueError(f"the file unpacks to more than {self._limit // 1048576} MB; import it with manage.py import_papers")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)
