from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    # The label "channels" is free: this project does not use Django Channels.
    name = "channels"
    verbose_name = "Channels"
