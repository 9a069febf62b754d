from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import SignInForm

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("switch-account/", views.switch_account, name="switch_account"),
    path("organizations/", views.organization_list, name="organizations"),
    path("organizations/<id:org_id>/", views.organization_edit, name="organization_edit"),
    path(
        "organizations/<id:org_id>/accounts/<id:account_id>/",
        views.organization_account,
        name="organization_account",
    ),
    path(
        "organizations/<id:org_id>/accounts/<id:account_id>/<slug:tab>/",
        views.organization_account,
        name="organization_account_tab",
    ),
    path("account/", views.current_account, name="current_account"),
    path("account/<slug:tab>/", views.current_account, name="current_account_tab"),
]
