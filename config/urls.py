from django.contrib import admin
from django.urls import path

from search import views
from search.api import api
from search.feeds import SearchAtomFeed, SearchRssFeed

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("search/feed.atom", SearchAtomFeed(), name="search_feed_atom"),
    path("search/feed.rss", SearchRssFeed(), name="search_feed_rss"),
    path("papers/<int:paper_id>/", views.paper_detail, name="paper_detail"),
    path("papers/<int:paper_id>/bibtex.bib", views.paper_bibtex_download, name="paper_bibtex"),
    path("similar", views.similar, name="similar"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
