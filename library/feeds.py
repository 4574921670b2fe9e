"""Private Atom feeds: a saved search's newest matches, a tag's recommendations.

The secret token in the URL is the only credential (feed readers cannot sign in); revoking it
(a new token) makes the old address answer 404 at once. Abstracts are sent as escaped text,
so imported markup is never turned back into live HTML by a feed reader.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from library import selectors
from library.models import SavedSearch, Tag
from papers.models import Paper

FEED_ITEMS = 30


class _PaperFeed(Feed):
    feed_type = Atom1Feed

    def item_title(self, item: Paper) -> str:
        return item.readable_title

    def item_description(self, item: Paper) -> str:
        return escape(item.readable_abstract[:5000])

    def item_link(self, item: Paper) -> str:
        return item.get_absolute_url()

    def item_guid(self, item: Paper) -> str:
        return f"paperscope-paper-{item.pk}"

    def item_author_name(self, item: Paper) -> str | None:
        return ", ".join(item.authors[:10]) + (" et al." if len(item.authors) > 10 else "") if item.authors else None

    def item_pubdate(self, item: Paper) -> dt.datetime:
        return item.created

    def item_updateddate(self, item: Paper) -> dt.datetime:
        return item.updated


class SavedSearchFeed(_PaperFeed):
    def get_object(self, request: HttpRequest, token: str) -> SavedSearch:
        search = selectors.feed_search(token=token)
        if search is None:
            raise Http404("No such feed.")
        return search

    def title(self, obj: SavedSearch) -> str:
        return f"Paperscope: {obj.name[:100]}"

    def link(self, obj: SavedSearch) -> str:
        return "/library/searches"

    def subtitle(self, obj: SavedSearch) -> str:
        return "The newest papers matching your saved search above its relevance floor."

    def items(self, obj: SavedSearch) -> list[Paper]:
        hits = [paper for paper, _ in selectors.saved_search_hits(search=obj, depth=100)]
        hits.sort(key=lambda p: (p.created, p.pk), reverse=True)
        return hits[:FEED_ITEMS]


class TagFeed(_PaperFeed):
    def get_object(self, request: HttpRequest, token: str) -> Tag:
        tag = selectors.feed_tag(token=token)
        if tag is None:
            raise Http404("No such feed.")
        return tag

    def title(self, obj: Tag) -> str:
        return f"Paperscope: recommended for {obj.name}"

    def link(self, obj: Tag) -> str:
        return f"/library/recommendations?tag={obj.pk}"

    def subtitle(self, obj: Tag) -> str:
        return "Papers most like the ones you tagged, newest first."

    def items(self, obj: Tag) -> list[Paper]:
        result = selectors.recommendations(user=obj.user, tag=obj, k=FEED_ITEMS, recent=True)
        return [item.paper for item in result.items]
