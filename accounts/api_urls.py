"""Routes of the REST API under /api/v1/, with its OpenAPI schema and interactive docs."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import api

urlpatterns = [
    path("account/", api.AccountView.as_view(), name="api-account"),
    path("warehouses/", api.WarehouseListView.as_view(), name="api-warehouses"),
    path("warehouses/<id:pk>/", api.WarehouseDetailView.as_view(), name="api-warehouse"),
    path("users/", api.AccountUserListView.as_view(), name="api-users"),
    path("audit-log/", api.AuditLogView.as_view(), name="api-audit-log"),
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^[\s\S]*$", api.NotFoundView.as_view()),  # newlines too; (?s:) breaks reverse()
]
