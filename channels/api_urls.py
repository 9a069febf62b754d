"""REST routes of channels under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("channels", api.ChannelViewSet, basename="api-channel")

urlpatterns = [
    *router.urls,
    path(
        "channels/<id:channel_id>/mappings/",
        api.WarehouseMappingViewSet.as_view({"get": "list", "post": "create"}),
        name="api-channel-mappings",
    ),
    path(
        "channels/<id:channel_id>/mappings/<id:pk>/",
        api.WarehouseMappingViewSet.as_view({"delete": "destroy"}),
        name="api-channel-mapping",
    ),
]
