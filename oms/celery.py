"""The Celery application shared by the web process, workers and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
# Celery runs Django's system checks as each worker and beat starts, which imports every
# URLconf, view and serializer: ~15 MB more in processes that never serve a page. The
# checks run where pages are served (runserver; `manage.py check --deploy` at deploy).
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")

# kombu's filesystem transport needs its folders to exist before anyone connects.
for folder in (app.conf.broker_transport_options or {}).values():
    if isinstance(folder, str) and app.conf.broker_url == "filesystem://":
        os.makedirs(folder, exist_ok=True)
app.autodiscover_tasks()
