"""REST routes of orders, shipments and receipts under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("sales-orders", api.SalesOrderViewSet, basename="api-sales-order")
router.register("purchase-orders", api.PurchaseOrderViewSet, basename="api-purchase-order")
router.register("shipments", api.ShipmentViewSet, basename="api-shipment")
router.register("receipts", api.ReceiptViewSet, basename="api-receipt")

urlpatterns = router.urls
