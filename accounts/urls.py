from django.urls import path

from accounts import views, views_invitation, views_mfa

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("two-factor/", views_mfa.two_factor, name="two-factor"),
    path("invitation/<str:token>/", views_invitation.invitation, name="invitation"),
]
