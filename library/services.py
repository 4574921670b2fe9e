"""Writes of the library: save/remove papers, tags, notes, imports, saved searches, tokens.

Every function takes the reader (``user``) and touches only that reader's rows: an id that
belongs to someone else is treated exactly like one that does not exist (LibraryNotFound, a 404).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from library.models import (
    NAME_MAX,
    NOTE_MAX,
    QUERY_MAX,
    TAG_MAX,
    ApiToken,
    Frequency,
    SavedPaper,
    SavedSearch,
    Tag,
    new_token,
)
from papers.models import Paper
from papers.normalize import normalize_arxiv_id, normalize_doi
from search.modes import MODES

MAX_TAGS_PER_PAPER = 20


class LibraryError(ValueError):
    """Bad input from the reader: shown as a 400 with this message."""


class LibraryNotFound(LookupError):
    """No such row in this reader's library (it may exist in someone else's: never said)."""


# --- tags -------------------------------------------------------------------------------------


def tags_parse(text: str | Iterable[str]) -> list[str]:
    """Tag names from "a, b; c" or a list: trimmed, case-insensitively unique, order kept."""
    parts = re.split(r"[,;\n]", text) if isinstance(text, str) else list(text)
    names: list[str] = []
    seen: set[str] = set()
    for part in parts:
        name = " ".join(str(part).split())
        if not name:
            continue
        if len(name) > TAG_MAX:
            raise LibraryError(f"A tag has at most {TAG_MAX} characters: {name[:TAG_MAX]}…")
        if name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    if len(names) > MAX_TAGS_PER_PAPER:
        raise LibraryError(f"At most {MAX_TAGS_PER_PAPER} tags per paper.")
    return names


def tags_get_or_create(*, user: User, names: Sequence[str]) -> list[Tag]:
    """The reader's tags with these names, made on the fly (a name matches regardless of case)."""
    existing = {t.name.casefold(): t for t in Tag.objects.filter(user=user)}
    tags = []
    for name in names:
        tag = existing.get(name.casefold())
        if tag is None:
            if len(existing) >= settings.LIBRARY_MAX_TAGS:
                raise LibraryError(f"A library holds at most {settings.LIBRARY_MAX_TAGS} tags.")
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(user=user, name=name)
            except IntegrityError:  # made a moment ago by the reader's other tab
                tag = Tag.objects.get(user=user, name__iexact=name)
            existing[name.casefold()] = tag
        tags.append(tag)
    return tags


def tag_update(*, user: User, tag_id: int, name: str | None = None, digest: str | None = None) -> Tag:
    tag = Tag.objects.filter(user=user, pk=tag_id).first()
    if tag is None:
        raise LibraryNotFound("No such tag in your library.")
    if name is not None:
        names = tags_parse([name])
        if not names:
            raise LibraryError("A tag needs a name.")
        if Tag.objects.filter(user=user, name__iexact=names[0]).exclude(pk=tag.pk).exists():
            raise LibraryError(f"You already have a tag named {names[0]!r}.")
        tag.name = names[0]
    if digest is not None:
        tag.digest = _frequency(digest)
    tag.save()
    return tag


def tag_delete(*, user: User, tag_id: int) -> None:
    deleted, _ = Tag.objects.filter(user=user, pk=tag_id).delete()
    if not deleted:
        raise LibraryNotFound("No such tag in your library.")


def _frequency(value: str) -> str:
    if value not in Frequency.values:
        raise LibraryError(f"Digest must be one of {', '.join(Frequency.values)}.")
    return value


# --- saved papers -------------------------------------------------------------------------------


def _check_note(note: str) -> str:
    if len(note) > NOTE_MAX:
        raise LibraryError(f"A note has at most {NOTE_MAX:,} characters.")
    return note.strip()


def saved_paper_add(
    *, user: User, paper_id: int, tags: Sequence[str] = (), note: str | None = None
) -> tuple[SavedPaper, bool]:
    """Save a visible paper (again: no-op) and add tags to it; (row, created)."""
    paper = Paper.objects.visible().filter(pk=paper_id).first()
    if paper is None:
        raise LibraryNotFound("No such paper.")
    with transaction.atomic():
        saved = SavedPaper.objects.filter(user=user, paper=paper).first()
        created = False
        if saved is None:
            if SavedPaper.objects.filter(user=user).count() >= settings.LIBRARY_MAX_PAPERS:
                raise LibraryError(f"A library holds at most {settings.LIBRARY_MAX_PAPERS:,} papers.")
            saved, created = SavedPaper.objects.get_or_create(user=user, paper=paper)
        if note is not None:
            saved.note = _check_note(note)
            saved.save(update_fields=["note"])
        if tags:
            saved.tags.add(*tags_get_or_create(user=user, names=tags))
    return saved, created


def saved_paper_update(
    *, user: User, paper_id: int, tags: Sequence[str] | None = None, note: str | None = None
) -> SavedPaper:
    """Replace a saved paper's tags and/or note (None leaves it as it is)."""
    saved = SavedPaper.objects.filter(user=user, paper_id=paper_id).first()
    if saved is None:
        raise LibraryNotFound("This paper is not in your library.")
    with transaction.atomic():
        if note is not None:
            saved.note = _check_note(note)
            saved.save(update_fields=["note"])
        if tags is not None:
            saved.tags.set(tags_get_or_create(user=user, names=tags))
    return saved


def saved_paper_remove(*, user: User, paper_id: int) -> bool:
    """Remove a paper from the library; False when it was not there."""
    deleted, _ = SavedPaper.objects.filter(user=user, paper_id=paper_id).delete()
    return bool(deleted)


# --- import ----------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    saved: list[Paper] = field(default_factory=list)
    already: list[Paper] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)  # identifiers (or titles) not in the collection
    invalid: list[str] = field(default_factory=list)  # lines that are neither an arXiv id nor a DOI

    @property
    def total(self) -> int:
        return len(self.saved) + len(self.already) + len(self.not_found) + len(self.invalid)


_ARXIV = re.compile(r"(?:arxiv:|https?://arxiv\.org/(?:abs|pdf)/)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)(?:\.pdf)?$", re.IGNORECASE)
_DOI = re.compile(r"(?:doi:|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)


def identifiers_parse(text: str) -> list[tuple[str, str, str]]:
    """(kind, value, as written) per non-empty line: kind is "arxiv", "doi" or "invalid"."""
    found = []
    for line in text.splitlines():
        raw = line.strip().strip(",;")
        if not raw or raw.startswith("#"):
            continue
        raw = raw[:300]
        if match := _ARXIV.match(raw):
            found.append(("arxiv", normalize_arxiv_id(match.group(1)), raw))
        elif match := _DOI.match(raw):
            found.append(("doi", normalize_doi(match.group(1)), raw))
        else:
            found.append(("invalid", "", raw))
    return found


def bib_identifiers(data: bytes) -> list[tuple[str, str, str]]:
    """(kind, value, label) per entry of a .bib file: its arXiv eprint, else its DOI, else its title.

    Parsed by bibtexparser (data only: nothing in the file is executed or followed).
    """
    import bibtexparser

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LibraryError("The .bib file is not UTF-8 text.") from exc
    library = bibtexparser.parse_string(text)
    found: list[tuple[str, str, str]] = []
    for entry in library.entries:
        fields = {f.key.lower(): str(f.value).strip().strip("{}") for f in entry.fields}
        label = entry.key[:200]
        eprint = fields.get("eprint", "")
        prefix = fields.get("archiveprefix", fields.get("eprinttype", "arxiv")).lower()
        url = fields.get("url", "")
        if eprint and prefix == "arxiv" and (m := _ARXIV.match(eprint)):
            found.append(("arxiv", normalize_arxiv_id(m.group(1)), label))
        elif fields.get("doi") and (m := _DOI.match(fields["doi"])):
            found.append(("doi", normalize_doi(m.group(1)), label))
        elif url and (m := _ARXIV.match(url)):
            found.append(("arxiv", normalize_arxiv_id(m.group(1)), label))
        elif fields.get("title"):
            found.append(("title", " ".join(fields["title"].replace("{", "").replace("}", "").split())[:500], label))
        else:
            found.append(("invalid", "", label))
    for block in library.failed_blocks:
        found.append(("invalid", "", f"unparseable entry at line {getattr(block, 'start_line', 0) + 1}"))
    return found


def library_import(
    *, user: User, text: str = "", bib: bytes = b"", tags: Sequence[str] = ()
) -> ImportReport:
    """Save every listed paper that is in the collection; report the rest (never dropped silently)."""
    from papers.normalize import normalize_title

    if len(text.encode("utf-8")) + len(bib) > settings.LIBRARY_IMPORT_MAX_KB * 1024:
        raise LibraryError(f"An import is at most {settings.LIBRARY_IMPORT_MAX_KB:,} KB.")
    items = identifiers_parse(text) + (bib_identifiers(bib) if bib else [])
    if not items:
        raise LibraryError("Nothing to import: paste arXiv ids or DOIs (one per line) or choose a .bib file.")
    report = ImportReport()
    visible = Paper.objects.visible()
    by_arxiv = {p.arxiv_id: p for p in visible.filter(arxiv_id__in=[v for k, v, _ in items if k == "arxiv"])}
    by_doi = {p.doi.lower(): p for p in visible.filter(doi__in=[v for k, v, _ in items if k == "doi"]) if p.doi}
    titles = {normalize_title(v)[:512]: v for k, v, _ in items if k == "title"}
    by_title = {p.normalized_title: p for p in visible.filter(normalized_title__in=list(titles))}
    already = set(SavedPaper.objects.filter(user=user).values_list("paper_id", flat=True))
    tag_rows = tags_get_or_create(user=user, names=tags) if tags else []
    for kind, value, label in items:
        paper = None
        if kind == "arxiv":
            paper = by_arxiv.get(value)
        elif kind == "doi":
            paper = by_doi.get(value.lower())
        elif kind == "title":
            paper = by_title.get(normalize_title(value)[:512])
        if kind == "invalid":
            report.invalid.append(label)
            continue
        if paper is None:
            report.not_found.append(label if kind == "title" else value)
            continue
        if paper.pk in already:
            report.already.append(paper)
        else:
            saved_paper_add(user=user, paper_id=paper.pk)
            already.add(paper.pk)
            report.saved.append(paper)
        if tag_rows:
            SavedPaper.objects.get(user=user, paper=paper).tags.add(*tag_rows)
    return report


# --- saved searches ---------------------------------------------------------------------------------

SEARCH_FIELDS = ("name", "query", "mode", "year_from", "year_to", "categories", "author", "floor", "digest")


def _clean_search(values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in SEARCH_FIELDS or value is None:
            continue
        if key == "query":
            value = " ".join(str(value).split())
            if not value:
                raise LibraryError("A saved search needs a query.")
            if len(value) > QUERY_MAX:
                raise LibraryError(f"A saved query has at most {QUERY_MAX:,} characters.")
        elif key in ("name", "author"):
            value = " ".join(str(value).split())[:NAME_MAX]
        elif key == "mode" and value not in MODES:
            raise LibraryError(f"Mode must be one of {', '.join(MODES)}.")
        elif key in ("year_from", "year_to"):
            value = int(value) if value not in ("", None) else None
            if value is not None and not 1000 <= value <= 3000:
                raise LibraryError("Years are between 1000 and 3000.")
        elif key == "categories":
            value = [str(c).strip()[:40] for c in (value if isinstance(value, list) else str(value).split(",")) if str(c).strip()][:20]
        elif key == "floor":
            value = float(value)
            if not -1 <= value <= 1:
                raise LibraryError("The relevance floor is a meaning similarity between -1 and 1.")
        elif key == "digest":
            value = _frequency(str(value))
        clean[key] = value
    return clean


def saved_search_create(*, user: User, **values: Any) -> SavedSearch:
    clean = _clean_search(values)
    if "query" not in clean:
        raise LibraryError("A saved search needs a query.")
    clean.setdefault("name", clean["query"][:NAME_MAX])
    if SavedSearch.objects.filter(user=user).count() >= 200:
        raise LibraryError("A reader keeps at most 200 saved searches.")
    return SavedSearch.objects.create(user=user, **clean)


def saved_search_update(*, user: User, search_id: int, **values: Any) -> SavedSearch:
    saved = SavedSearch.objects.filter(user=user, pk=search_id).first()
    if saved is None:
        raise LibraryNotFound("No such saved search.")
    for key, value in _clean_search(values).items():
        setattr(saved, key, value)
    saved.save()
    return saved


def saved_search_delete(*, user: User, search_id: int) -> None:
    deleted, _ = SavedSearch.objects.filter(user=user, pk=search_id).delete()
    if not deleted:
        raise LibraryNotFound("No such saved search.")


def feed_token_revoke(*, user: User, kind: str, object_id: int) -> str:
    """A new secret for a saved search's or a tag's feed: the old URL stops working at once."""
    model = SavedSearch if kind == "search" else Tag
    row = model.objects.filter(user=user, pk=object_id).first()
    if row is None:
        raise LibraryNotFound("Not in your library.")
    row.feed_token = new_token()
    row.save(update_fields=["feed_token"])
    return row.feed_token


def digest_unsubscribe(*, user_id: int, kind: str, object_id: int) -> bool:
    """Turn off one digest (the signed link in an email says which); True when something changed."""
    model = SavedSearch if kind == "search" else Tag
    return bool(model.objects.filter(user_id=user_id, pk=object_id).exclude(digest=Frequency.NEVER).update(digest=Frequency.NEVER))


# --- API tokens --------------------------------------------------------------------------------------


def api_token_create(*, user: User, name: str) -> tuple[str, ApiToken]:
    """A new personal token: (the token, shown once; its row, which keeps only a hash)."""
    token = "ps_" + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=user, name=" ".join(name.split())[:NAME_MAX] or "token", digest=ApiToken.hash(token), prefix=token[:10])
    return token, row


def api_token_delete(*, user: User, token_id: int) -> None:
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise LibraryNotFound("No such token.")
