from django.urls import path

from children import api, views

app_name = "children"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("children/<str:public_id>/", views.record_view, name="record"),
    path("api/v1/involvements", api.involvements, name="api-involvements"),
    path(
        "manage/involvements/not-confirmed/",
        views.stale_involvements,
        name="stale-involvements",
    ),
]
