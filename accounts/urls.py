from django.urls import path

from accounts import views, views_invitation

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("invitation/<str:token>/", views_invitation.invitation, name="invitation"),
]
