from django.urls import path

from . import views

urlpatterns = [
    path("sales-orders/", views.sales_order_list, name="sales_order_list"),
    path("sales-orders/process/", views.process_sales_orders, name="sales_order_process"),
    path("sales-orders/<int:order_id>/", views.sales_order_detail, name="sales_order_detail"),
]
