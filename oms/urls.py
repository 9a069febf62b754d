from django.contrib import admin
from django.urls import include, path, register_converter

from .ids import IdConverter

# Before the apps' URL modules are imported by include(): they use `<id:…>`.
register_converter(IdConverter, "id")

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before accounts.api_urls, whose last route answers 404 for every other API path.
    path("api/v1/", include("automations.api_urls")),
    path("api/v1/", include("channels.api_urls")),
    path("api/v1/", include("catalog.api_urls")),
    path("api/v1/", include("orders.api_urls")),
    path("api/v1/", include("accounts.api_urls")),
    path("", include("accounts.urls")),
    path("", include("channels.urls")),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
    path("", include("automations.urls")),
]
