"""LA admins' pages about their area's users, under /manage/users/."""

from django.urls import path

from accounts import views_users

app_name = "accounts"

urlpatterns = [
    path("", views_users.users, name="users"),
    path("new/", views_users.user_create, name="user-create"),
    path("<int:user_id>/", views_users.user, name="user"),
    path("<int:user_id>/vetting/", views_users.user_vetting, name="user-vetting"),
    path("<int:user_id>/role/", views_users.user_role, name="user-role"),
    path("<int:user_id>/status/", views_users.user_status, name="user-status"),
    path("<int:user_id>/unlock/", views_users.user_unlock, name="user-unlock"),
    path("<int:user_id>/invitation/", views_users.user_invitation, name="user-invitation"),
    path(
        "<int:user_id>/second-factor/",
        views_users.user_second_factor,
        name="user-second-factor",
    ),
]
