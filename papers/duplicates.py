"""The duplicate review queue's writes: scans propose pairs, curators dismiss them.

A scan finds pairs by the papers' own evidence (identifiers, near-identical titles) and asks
other apps for theirs through ``papers.signals.duplicate_scan_started``: the search app answers
with pairs of papers whose stored vectors are nearly the same. Every pair goes through
``duplicates_propose``, the one function that writes candidates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import chain
from typing import cast

from django.conf import settings

from papers.models import DuplicateCandidate, Paper
from papers.normalize import normalize_arxiv_id, normalize_doi
from papers.signals import duplicate_scan_started


@dataclass(frozen=True)
class DuplicatePair:
    """Evidence that papers ``a`` and ``b`` (ids, either order) may be the same work."""

    a: int
    b: int
    reason: str  # a DuplicateCandidate.Reason value
    detail: str
    score: float = 1.0


@dataclass
class DuplicateScan:
    """What a scan found: new pairs per reason, and pairs already known (open or decided)."""

    proposed: dict[str, int] = field(default_factory=dict)
    known: int = 0

    @property
    def total(self) -> int:
        return sum(self.proposed.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{count} by {reason}" for reason, count in sorted(self.proposed.items()))
        return f"{self.total} new candidate pairs ({parts or 'none'}); {self.known} already known"


# Strongest evidence first: a pair found for several reasons is stored with the strongest.
_REASON_RANK: dict[str, int] = {
    DuplicateCandidate.Reason.ARXIV_ID: 0,
    DuplicateCandidate.Reason.DOI: 1,
    DuplicateCandidate.Reason.TITLE: 2,
    DuplicateCandidate.Reason.EMBEDDING: 3,
}
_TITLE_BLOCK_LIMIT = 200  # larger blocks are generic prefixes ("a survey of ..."): skip


def duplicates_propose(*, pairs: Iterable[DuplicatePair]) -> DuplicateScan:
    """Queue the new pairs among ``pairs`` as open candidates, each with its strongest reason.

    A pair already in the queue, whatever its status, is never proposed again (so a dismissed
    pair stays dismissed); a pair of a paper with itself is ignored.
    """
    strongest: dict[tuple[int, int], DuplicatePair] = {}
    for pair in pairs:
        if pair.a == pair.b:
            continue
        if pair.reason not in _REASON_RANK:
            raise ValueError(f"unknown duplicate reason {pair.reason!r}")
        key = (min(pair.a, pair.b), max(pair.a, pair.b))
        current = strongest.get(key)
        if current is None or _REASON_RANK[pair.reason] < _REASON_RANK[current.reason]:
            strongest[key] = pair
    known = set(DuplicateCandidate.objects.values_list("paper_a_id", "paper_b_id"))
    scan = DuplicateScan(known=len(strongest.keys() & known))
    new = [
        DuplicateCandidate(paper_a_id=a, paper_b_id=b, reason=pair.reason, detail=pair.detail[:300], score=pair.score)
        for (a, b), pair in sorted(strongest.items())
        if (a, b) not in known
    ]
    DuplicateCandidate.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    for candidate in new:
        scan.proposed[candidate.reason] = scan.proposed.get(candidate.reason, 0) + 1
    return scan


def duplicates_find(*, title_ratio: float | None = None) -> DuplicateScan:
    """Propose pairs of papers that may be the same work, each with its reason.

    Reasons, strongest first: the same arXiv id without version (from the id or a link), the
    same DOI, near-identical normalised titles (``title_ratio``, default
    ``DUPLICATE_TITLE_RATIO``), and whatever the receivers of ``duplicate_scan_started`` return
    (the search app: near-identical stored vectors). Merged papers are left out.
    """
    title_ratio = settings.DUPLICATE_TITLE_RATIO if title_ratio is None else title_ratio
    by_arxiv: dict[str, list[int]] = {}
    by_doi: dict[str, list[int]] = {}
    titles: dict[int, str] = {}
    rows = Paper.objects.filter(merged_into__isnull=True).values_list("pk", "arxiv_id", "doi", "normalized_title", "links")
    for pk, arxiv_id, doi, title, links in rows.iterator(chunk_size=5000):
        arxiv_ids = {normalize_arxiv_id(arxiv_id or "")} | _link_identifiers(links, normalize_arxiv_id, "arxiv.org")
        for key in arxiv_ids - {""}:
            by_arxiv.setdefault(key, []).append(pk)
        dois = {normalize_doi(doi or "")} | _link_identifiers(links, normalize_doi, "doi.org")
        for key in dois - {""}:
            by_doi.setdefault(key, []).append(pk)
        if title:
            titles[pk] = title
    return duplicates_propose(
        pairs=chain(
            _grouped(by_arxiv, DuplicateCandidate.Reason.ARXIV_ID, "arXiv"),
            _grouped(by_doi, DuplicateCandidate.Reason.DOI, "DOI"),
            _near_titles(titles, ratio=title_ratio),
            _from_other_apps(),
        )
    )


def duplicate_dismiss(*, candidates: Iterable[DuplicateCandidate], user: object | None = None) -> int:
    """Dismiss pairs for good: the record stays, so no later scan proposes the pair again."""
    ids = [c.pk for c in candidates]
    return DuplicateCandidate.objects.filter(pk__in=ids, status=DuplicateCandidate.Status.OPEN).update(
        status=DuplicateCandidate.Status.DISMISSED,
        decided=dt.datetime.now(dt.UTC),
        decided_by=user if getattr(user, "pk", None) else None,
    )


def _from_other_apps() -> Iterator[DuplicatePair]:
    for _receiver, found in duplicate_scan_started.send(sender=DuplicateCandidate):
        yield from cast("Iterable[DuplicatePair]", found or ())  # each receiver returns its pairs


def _grouped(groups: dict[str, list[int]], reason: str, label: str) -> Iterator[DuplicatePair]:
    for key, ids in groups.items():
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                yield DuplicatePair(a, b, reason, f"{label} {key}")


def _link_identifiers(links: dict[str, str], normalize: Callable[[str], str], host: str) -> set[str]:
    return {found for url in (links or {}).values() if host in str(url) and (found := normalize(str(url)))}


def _near_titles(titles: dict[int, str], *, ratio: float) -> Iterator[DuplicatePair]:
    """Pairs whose normalised titles are equal or nearly so (blocked by first and last words)."""
    blocks: dict[tuple[str, str], list[int]] = {}
    for pk, title in titles.items():
        words = title.split()
        if not words:
            continue
        blocks.setdefault(("head", " ".join(words[:3])), []).append(pk)
        blocks.setdefault(("tail", " ".join(words[-3:])), []).append(pk)
    for ids in blocks.values():
        if len(ids) < 2 or len(ids) > _TITLE_BLOCK_LIMIT:
            continue
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if titles[a] == titles[b]:
                    yield DuplicatePair(a, b, DuplicateCandidate.Reason.TITLE, "identical normalised title")
                    continue
                matcher = SequenceMatcher(None, titles[a], titles[b], autojunk=False)
                if matcher.quick_ratio() >= ratio and (score := matcher.ratio()) >= ratio:
                    yield DuplicatePair(a, b, DuplicateCandidate.Reason.TITLE, f"titles {score:.0%} alike", score)
