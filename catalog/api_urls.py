"""REST routes of products and inventory under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
# The ledger first: "inventory/adjustments/" must not be read as an inventory level id.
router.register("inventory/adjustments", api.AdjustmentViewSet, basename="api-adjustment")
router.register("inventory", api.InventoryViewSet, basename="api-inventory")
router.register("products", api.ProductViewSet, basename="api-product")

urlpatterns = router.urls
