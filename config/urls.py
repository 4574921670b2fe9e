from django.contrib import admin
from django.urls import include, path, re_path

from library import api as library_api
from search import views
from search.api import api, not_found
from search.feeds import SearchAtomFeed, SearchRssFeed

# The library's routes join the one API (and its OpenAPI spec) here, so search never imports library.
api.add_router("/library/", library_api.router)

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("search/feed.atom", SearchAtomFeed(), name="search_feed_atom"),
    path("search/feed.rss", SearchRssFeed(), name="search_feed_rss"),
    path("papers/<int:paper_id>/", views.paper_detail, name="paper_detail"),
    path("papers/<int:paper_id>/bibtex.bib", views.paper_bibtex_download, name="paper_bibtex"),
    path("similar", views.similar, name="similar"),
    path("search/results.bib", views.search_bibtex, name="search_bibtex"),
    path("authors/<path:name>/", views.author, name="author"),  # a name may hold "/" (imported text)
    path("browse/<str:category>", views.browse_category, name="browse"),
    path("api/", api.urls),
    re_path(r"^api/(?P<path>.*)$", not_found),  # unknown API paths answer in JSON, like the API
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("library/", include("library.urls")),
    path("favicon.ico", views.favicon),
]
