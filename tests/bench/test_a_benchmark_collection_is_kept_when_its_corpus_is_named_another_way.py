"""A benchmark collection (millions of generated papers, an hour to make) is reused when the
same corpus file is named another way: relative or absolute, through a symlink."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import database


def test_the_same_corpus_by_a_relative_path_or_a_symlink_reuses_the_collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "data" / "papers.jsonl"
    corpus.parent.mkdir()
    corpus.write_text("")
    (tmp_path / "link").symlink_to(corpus.parent)
    collection = tmp_path / "scale.sqlite3"
    collection.write_bytes(b"")  # an empty file is an empty SQLite database
    collection.with_suffix(".imported").write_text(str(corpus))
    made = os.stat(collection)
    monkeypatch.chdir(tmp_path)
    imports: list[str] = []
    monkeypatch.setattr(database, "manage", lambda *args, **kwargs: imports.append(args[0]))
    monkeypatch.setattr(database, "connect", lambda path: None)  # no connection: only the collection's fate is tested

    for spelling in (Path("data/papers.jsonl"), tmp_path / "link" / "papers.jsonl", corpus):
        database.prepare(database=collection, corpus=spelling)

    assert imports == []  # never deleted and imported again
    assert (os.stat(collection).st_ino, os.stat(collection).st_mtime_ns) == (made.st_ino, made.st_mtime_ns)

    database.prepare(database=collection, corpus=tmp_path / "another.jsonl")  # another corpus: made again
    assert imports == ["migrate", "import_papers"]
    assert collection.with_suffix(".imported").read_text() == str((tmp_path / "another.jsonl").resolve())
