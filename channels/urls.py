from django.urls import path, register_converter

from . import views, webhooks


class ChannelKindConverter:
    """Only the two list pages' slugs, so these routes shadow nothing else at the root."""

    regex = "sales-channels|fulfillment-channels"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ChannelKindConverter, "channelkind")

urlpatterns = [
    path("webhooks/<str:token>/", webhooks.receive_webhook, name="channel_webhook"),
    path("channels/<id:channel_id>/", views.channel_detail, name="channel_detail"),
    path("channels/<id:channel_id>/runs/", views.channel_runs, name="channel_runs"),
    path("<channelkind:kind_slug>/", views.channel_list, name="channel_list"),
    path("<channelkind:kind_slug>/add/", views.channel_add, name="channel_add"),
]
