"""Settings for bench_history.py's gunicorn: the site's settings, plus one folder that
WhiteNoise serves at the URL root, so a static file of the grid's bytes is served by
the same server and middleware stack as the grid endpoint."""

import os

from crimepredict_site.settings import *  # noqa: F403

WHITENOISE_ROOT = os.environ["BENCH_STATIC_ROOT"]
