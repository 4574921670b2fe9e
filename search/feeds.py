"""Atom and RSS feeds of a search: the newest of the papers that match it best.

A feed is the search page sorted "Newest first" (the query's own definition: the most relevant
matches, by date), keeping the query, mode and filters. So a feed reader sees a newly imported
paper when it is about the query, not every new paper. Without a query: the newest papers.

Imported text is data: an item's summary (Atom ``<summary type="html">``, RSS ``<description>``,
both read by feed readers as HTML) is the abstract HTML-escaped, so markup in it shows as text
and never comes alive in a reader; and it is cut to a bounded length like every result list.
"""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed

from papers.models import Paper
from papers.selectors import recent_papers
from search.explain import bounded
from search.forms import SearchForm
from search.queries import semantic_search

FEED_ITEMS = 20
_FEED_PARAMS = ("q", "mode", "weight", "year_from", "year_to", "category", "author")


class SearchAtomFeed(Feed):
    feed_type: type[SyndicationFeed] = Atom1Feed

    def __call__(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        form = SearchForm(request.GET)
        if not form.is_valid():
            return HttpResponseBadRequest(form.error_message(), content_type="text/plain; charset=utf-8")
        try:
            return super().__call__(request, *args, **kwargs)
        except ValueError as exc:  # the query refused a mode or weight
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")

    def get_object(self, request: HttpRequest, *args: object, **kwargs: object) -> SearchForm:
        form = SearchForm(request.GET)
        form.is_valid()  # already checked in __call__
        return form

    def title(self, obj: SearchForm) -> str:
        query = obj.cleaned_data["q"]
        return f"Paperscope: new papers about “{query[:80]}”" if query else "Paperscope: new papers"

    def subtitle(self, obj: SearchForm) -> str:
        return self.description(obj)

    def description(self, obj: SearchForm) -> str:
        if obj.cleaned_data["q"]:
            return "The newest of the papers that best match this search."
        return "The newest papers in the collection."

    def link(self, obj: SearchForm) -> str:
        params = {name: obj.data.get(name) for name in _FEED_PARAMS if obj.data.get(name)}
        return reverse("search") + (f"?{urlencode(params)}" if params else "")

    def items(self, obj: SearchForm) -> list[Paper]:
        if not obj.cleaned_data["q"]:
            return recent_papers(limit=FEED_ITEMS)
        kwargs = obj.search_kwargs() | {"page": 1, "page_size": FEED_ITEMS, "sort": "newest"}
        return [hit.paper for hit in semantic_search(**kwargs).hits]  # type: ignore[arg-type]

    def item_title(self, item: Paper) -> str:
        # Atom's <title> is type="text": plain text, escaped by the XML writer only.
        return bounded(item.readable_title, 500)

    def item_description(self, item: Paper) -> str:
        return html.escape(bounded(item.readable_abstract), quote=False)

    def item_link(self, item: Paper) -> str:
        return item.get_absolute_url()

    def item_author_name(self, item: Paper) -> str | None:
        if not item.authors:
            return None
        return ", ".join(item.authors[:10]) + (" et al." if len(item.authors) > 10 else "")

    def item_pubdate(self, item: Paper) -> dt.datetime:
        if item.published:
            return dt.datetime.combine(item.published, dt.time(), tzinfo=dt.UTC)
        return item.created

    def item_updateddate(self, item: Paper) -> dt.datetime:
        return item.updated

    def item_categories(self, item: Paper) -> list[str]:
        return list(item.categories)


class SearchRssFeed(SearchAtomFeed):
    feed_type = Rss201rev2Feed

    def item_title(self, item: Paper) -> str:
        # RSS has no type attribute and readers (feedparser among them) take <title> as HTML.
        return html.escape(super().item_title(item), quote=False)
