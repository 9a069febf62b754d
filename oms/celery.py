"""The Celery application shared by the web process, workers and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")

# kombu's filesystem transport needs its folders to exist before anyone connects.
for folder in (app.conf.broker_transport_options or {}).values():
    if isinstance(folder, str) and app.conf.broker_url == "filesystem://":
        os.makedirs(folder, exist_ok=True)
app.autodiscover_tasks()
