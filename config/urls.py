from django.contrib import admin
from django.urls import path

from search import views

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("papers/<int:paper_id>/", views.paper_detail, name="paper_detail"),
    path("admin/", admin.site.urls),
]
