"""The Celery app.

Importing it must never touch CUDA: training does that inside its task.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crimepredict_site.settings")

app = Celery("crimepredict")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
