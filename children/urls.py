from django.urls import path

from children import api, views, views_manage
from children.views_duplicates import urlpatterns_duplicates

app_name = "children"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/results/", views.results, name="results"),
    path("children/<str:public_id>/", views.record_view, name="record"),
    path("children/<str:public_id>/print/", views.record_print, name="record-print"),
    path("api/v1/involvements", api.involvements, name="api-involvements"),
    # Data managers (their area's records) and LA admins (shielding).
    path("manage/children/new/", views_manage.create, name="create"),
    path("manage/children/<str:public_id>/", views_manage.manage, name="manage"),
    path(
        "manage/children/<str:public_id>/involvements/new/",
        views_manage.involvement_add,
        name="involvement-add",
    ),
    path(
        "manage/children/<str:public_id>/involvements/<int:involvement_id>/close/",
        views_manage.involvement_close,
        name="involvement-close",
    ),
    path(
        "manage/children/<str:public_id>/involvements/<int:involvement_id>/lead/",
        views_manage.involvement_lead,
        name="involvement-lead",
    ),
    path("manage/children/<str:public_id>/move/", views_manage.move, name="move"),
    path("manage/children/<str:public_id>/name/", views_manage.rename, name="rename"),
    path("manage/shielding/", views_manage.shielding, name="shielding"),
    path("manage/shielding/find/", views_manage.shielding_find, name="shielding-find"),
    path(
        "manage/involvements/not-confirmed/",
        views.stale_involvements,
        name="stale-involvements",
    ),
    *urlpatterns_duplicates,
]
