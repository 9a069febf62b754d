from django.urls import path

from . import views

urlpatterns = [
    path("sales-orders/", views.sales_order_list, name="sales_order_list"),
    path("sales-orders/process/", views.process_sales_orders, name="sales_order_process"),
    path("sales-orders/<id:order_id>/", views.sales_order_detail, name="sales_order_detail"),
    path("sales-orders/<id:order_id>/cancel/", views.cancel_sales_order_view, name="sales_order_cancel"),
    path("purchase-orders/", views.purchase_order_list, name="purchase_order_list"),
    path("purchase-orders/process/", views.process_purchase_orders, name="purchase_order_process"),
    path("purchase-orders/<id:po_id>/", views.purchase_order_detail, name="purchase_order_detail"),
    path(
        "purchase-orders/<id:po_id>/cancel/", views.cancel_purchase_order_view, name="purchase_order_cancel"
    ),
]
