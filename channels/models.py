"""Sales and fulfillment channels of an account."""

from django.db import models

from .platforms import PLATFORM_CHOICES, PLATFORMS, ChannelKind


class Channel(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="channels")
    name = models.CharField("Name", max_length=120)
    kind = models.CharField("Kind", max_length=16, choices=ChannelKind.choices)
    platform = models.CharField("Platform", max_length=40, choices=PLATFORM_CHOICES)
    is_active = models.BooleanField("Active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("account", "name", name="channel_name_unique_per_account"),
        ]

    def __str__(self):
        return self.name

    @property
    def platform_info(self):
        return PLATFORMS[self.platform]
