"""Reads behind the author pages and the browse pages (no writes).

An author is found through the author-name field of the keyword index (search/authors.py), so
"Radu Timofte", "radu timofte" and a paper listing "R. Timofte" meet; without an index build the
papers table is asked for the exact name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from papers.models import Paper
from search import authors, embedder, navigation
from search.index_store import LoadedIndex, current_index
from search.models import PaperEmbedding
from search.queries import Explanation, Hit, rank, rows_for
from search.ranking import AnalysedQuery

AUTHOR_PAGE_SIZE = 20
COAUTHORS = 12
LIKE_WORK = 10
LIKE_WORK_FROM = 200  # the author's newest papers whose vectors make "their work"
BROWSE_LIMIT = 500  # papers shown for one category and week
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass
class AuthorProfile:
    name: str  # as most of their papers spell it
    total: int
    page: int
    papers: list[Paper]
    coauthors: list[tuple[str, int]] = field(default_factory=list)
    like_work: list[Hit] = field(default_factory=list)

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // AUTHOR_PAGE_SIZE))


def _author_pks(name: str, index: LoadedIndex | None) -> list[int]:
    visible = Paper.objects.visible()
    if index is not None and index.keyword is not None and index.keyword.authors is not None:
        return navigation.author_papers(name, index.keyword, visible, surname_only=True)
    key = authors.fold(name).strip()
    return list(visible.filter(author_key__contains=f"; {key};").order_by("-published", "-pk").values_list("pk", flat=True)[:1000])


def author_profile(*, name: str, page: int = 1) -> AuthorProfile | None:
    """An author's papers newest first (a page of them), frequent co-authors, papers like their work.

    None when no visible paper lists the name.
    """
    index = current_index()  # one build for the whole page
    pks = _author_pks(name, index)
    if not pks:
        return None
    rows_of = {pk: (published, names) for pk, published, names in Paper.objects.filter(pk__in=pks).values_list("pk", "published", "authors")}
    # Exact-name and initial-only listings together, newest first (undated last).
    def newest_first(pk: int) -> tuple[bool, int, int]:
        published = rows_of[pk][0]
        return (published is None, -(published.toordinal() if published else 0), -pk)

    pks = sorted(rows_of, key=newest_first)
    listed = {pk: names for pk, (_, names) in rows_of.items()}
    spellings: Counter[str] = Counter()
    together: Counter[str] = Counter()
    for pk in pks:
        for listed_name in listed.get(pk) or []:
            if authors.same_author(str(listed_name), name):
                spellings[str(listed_name)] += 1
            else:
                together[str(listed_name)] += 1
    shown = pks[(page - 1) * AUTHOR_PAGE_SIZE : page * AUTHOR_PAGE_SIZE]
    rows = Paper.objects.in_bulk(shown)
    typed = [spelling for spelling in spellings if spelling.casefold() == name.strip().casefold()]
    profile = AuthorProfile(
        # The name as the link spelt it when a paper lists it so; else the most common spelling.
        name=typed[0] if typed else (spellings.most_common(1)[0][0] if spellings else name),
        total=len(pks),
        page=page,
        papers=[rows[pk] for pk in shown if pk in rows],
        coauthors=[(n, c) for n, c in together.most_common(COAUTHORS) if c > 1] or together.most_common(min(COAUTHORS, 5)),
    )
    profile.like_work = _like_work(pks, index)
    return profile


def _like_work(pks: list[int], index: LoadedIndex | None) -> list[Hit]:
    """Papers by others closest to the mean of the author's (newest) paper vectors."""
    vectors = [
        row.as_array()
        for row in PaperEmbedding.objects.filter(paper_id__in=pks[:LIKE_WORK_FROM], model=embedder.model_name())
    ]
    if not vectors or index is None:
        return []
    centre = np.mean(np.stack(vectors), axis=0)
    norm = float(np.linalg.norm(centre))
    if norm == 0.0:
        return []
    centre = (centre / norm).astype(np.float32).reshape(1, -1)
    result = rank(
        index=index, query=AnalysedQuery.of(""), query_vector=centre, mode="dense", weight=1.0, filters=None,
        needed=LIKE_WORK, exclude=frozenset(pks),
    )
    ranked = result.fused[:LIKE_WORK]
    papers = rows_for([f.pk for f in ranked], dict(result.rows))
    return [
        Hit(paper=papers[f.pk], score=f.score, rank=i + 1, explanation=Explanation(dense=f.dense))
        for i, f in enumerate(f for f in ranked if f.pk in papers)
    ]


@dataclass
class Browse:
    category: str
    week_start: dt.date | None
    papers: list[Paper]
    total_in_category: int
    previous_week: str = ""  # "2025-W13", or "" when there is none
    next_week: str = ""

    @property
    def week(self) -> str:
        return iso_week(self.week_start) if self.week_start else ""

    @property
    def week_end(self) -> dt.date | None:
        return self.week_start + dt.timedelta(days=6) if self.week_start else None


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(value: str) -> dt.date:
    """The Monday of an ISO week written "2025-W14"; ValueError with a message otherwise."""
    match = _WEEK.match(value.strip())
    if not match:
        raise ValueError(f"a week is written like 2025-W14, not {value[:40]!r}")
    try:
        return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise ValueError(f"{value[:40]} is not a week of the calendar") from None


def browse_category(*, category: str, week: str = "") -> Browse:
    """The papers of one category published in one ISO week (default: its latest), newest first.

    Raises ValueError for a malformed week.
    """
    in_category = Paper.objects.visible().filter(category_key__contains=f" {category} ")
    if week:
        monday = parse_week(week)
    else:
        latest = in_category.filter(published__isnull=False).order_by("-published").values_list("published", flat=True).first()
        if latest is None:
            return Browse(category=category, week_start=None, papers=[], total_in_category=in_category.count())
        monday = latest - dt.timedelta(days=latest.weekday())
    sunday = monday + dt.timedelta(days=6)
    papers = list(in_category.filter(published__gte=monday, published__lte=sunday).order_by("-published", "-pk")[:BROWSE_LIMIT])
    before = in_category.filter(published__lt=monday).order_by("-published").values_list("published", flat=True).first()
    after = in_category.filter(published__gt=sunday).order_by("published").values_list("published", flat=True).first()
    return Browse(
        category=category,
        week_start=monday,
        papers=papers,
        total_in_category=in_category.count(),
        previous_week=iso_week(before) if before else "",
        next_week=iso_week(after) if after else "",
    )
