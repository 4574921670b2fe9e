from django.urls import path

from library import feeds, views

app_name = "library"

urlpatterns = [
    path("", views.home, name="home"),
    path("tags/<int:tag_id>/", views.home, name="tag"),
    path("tags/<int:tag_id>/update", views.tag_update, name="tag_update"),
    path("tags/<int:tag_id>/delete", views.tag_delete, name="tag_delete"),
    path("tags/<int:object_id>/revoke-feed", views.feed_revoke, {"kind": "tag"}, name="tag_feed_revoke"),
    path("searches/<int:object_id>/revoke-feed", views.feed_revoke, {"kind": "search"}, name="search_feed_revoke"),
    path("papers/<int:paper_id>/save", views.save, name="save"),
    path("papers/<int:paper_id>/remove", views.remove, name="remove"),
    path("papers/<int:paper_id>/edit", views.edit, name="edit"),
    path("export.bib", views.export, {"fmt": "bib"}, name="export_bib"),
    path("export.csv", views.export, {"fmt": "csv"}, name="export_csv"),
    path("import", views.import_view, name="import"),
    path("recommendations", views.recommendations_view, name="recommendations"),
    path("searches", views.searches, name="searches"),
    path("searches/<int:search_id>/update", views.search_update, name="search_update"),
    path("searches/<int:search_id>/delete", views.search_delete, name="search_delete"),
    path("tokens", views.tokens, name="tokens"),
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("feeds/search/<str:token>.atom", feeds.SavedSearchFeed(), name="search_feed"),
    path("feeds/tag/<str:token>.atom", feeds.TagFeed(), name="tag_feed"),
]
