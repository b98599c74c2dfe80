from django.urls import path

from audit.oversight import views, views_flags, views_reports

app_name = "audit"

urlpatterns = [
    path("", views.events, name="events"),
    path("export/", views.export, name="export"),
    path("children/", views_reports.child_find, name="child-find"),
    path("children/<str:public_id>/", views_reports.child_access, name="child-access"),
    path("users/<int:user_id>/", views_reports.user_activity, name="user-activity"),
    path("flags/", views_flags.flags, name="flags"),
    path("flags/<int:flag_id>/", views_flags.flag, name="flag"),
]
