"""Crime Predict settings: one module, driven by environment variables.

Defaults are safe for production (DEBUG off, HTTPS on, a SECRET_KEY required);
development and the local demo opt out explicitly (see README, "Configuration").
"""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from core.env import (
    check_redis_url,
    env_bool,
    env_count,
    env_int,
    env_list,
    env_str,
    parse_database_url,
)
from ml.timeutil import TZ_NAME

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key" if DEBUG else None)
# What `check --deploy` (W009) wants: 50 characters, not a repeated few.
if not DEBUG and (
    len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY.startswith(("insecure", "django-insecure-"))
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 50 random characters when DEBUG is off"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# HTTPS hardening is on unless a local deployment (demo, tests) turns it off.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# How many reverse proxies of ours stand in front (0: none, the client connects to
# gunicorn). Only then are X-Forwarded-Proto and exactly that many hops of
# X-Forwarded-For trusted (core.throttling.client_address, DRF's NUM_PROXIES).
PROXY_HOPS = env_count("BEHIND_PROXY", 0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PROXY_HOPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "axes",
    "core",
    "crimes",
    "predictions",
    "streets",
    "commutes",
    "places",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the fast path, so a replayed answer gets this request's policy too.
    "core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Bodies in a charset the site does not read, NUL in a path or query: refused
    # before anything (the fast path, the CSRF check) reads them.
    "core.request_text.RequestTextMiddleware",
    # Outside the fast path, so replayed answers are compressed like fresh ones.
    "core.compression.ApiGzipMiddleware",
    "core.fast_path.ApiFastPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # 413 from Content-Length before anything (the CSRF check) reads the body.
    "core.request_limits.BodyLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view failing because PostgreSQL or the task queue is down answers 503.
    "core.api_errors.OutageMiddleware",
    # Last, as django-axes asks: refuses a locked-out address's login attempts.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crimepredict_site.urls"
WSGI_APPLICATION = "crimepredict_site.wsgi.application"
ASGI_APPLICATION = "crimepredict_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(
        "DATABASE_URL", "postgis://postgres@127.0.0.1:5432/crimepredict"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = check_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
# Two Redis roles, which production keeps on two servers (docker/compose.yaml): the
# cache (answers, cache versions, throttle counters) on a server with `maxmemory` and
# `volatile-lru`, so it stays bounded by evicting entries; the Celery broker on one
# that never evicts (`noeviction`), so a queued run is never dropped to make room.
# Both default to REDIS_URL (one server, as before, for a laptop).
CACHE_REDIS_URL = check_redis_url("CACHE_REDIS_URL", REDIS_URL)
# Redis may fail; requests then go on without it (core.redis_guard), after at most
# this long a wait.
REDIS_TIMEOUT_S = env_int("REDIS_TIMEOUT_MS", 1000, minimum=10) / 1000
CACHES = {
    "default": {
        # RedisCache that treats a failing Redis as a miss (core.resilient_cache).
        "BACKEND": "core.resilient_cache.ResilientRedisCache",
        "LOCATION": CACHE_REDIS_URL,
        "OPTIONS": {
            "socket_connect_timeout": REDIS_TIMEOUT_S,
            "socket_timeout": REDIS_TIMEOUT_S,
        },
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "cp"),
        "TIMEOUT": env_int("CACHE_TIMEOUT", 3600, minimum=0),
    }
}
# No cache (Redis, or the fast path's memory) keeps an answer larger than this: one
# entry must not push out hundreds (issue 16: forecast variants of 13-33 MB each).
# Larger answers are built again per request, from pieces held in memory where that
# is what makes them cheap (predictions.services.forecast_slices).
CACHE_MAX_ENTRY_BYTES = env_int("CACHE_MAX_ENTRY_KB", 4096, minimum=64) * 1024

# Login lockout (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords from one
# address (core.throttling.client_address), its logins are refused with 429 for
# LOGIN_LOCKOUT_MINUTES; `manage.py axes_reset` lifts every lock.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "core.throttling.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429

_VALIDATORS = "django.contrib.auth.password_validation."
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": _VALIDATORS + name}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

# Fixed point: store aware UTC, show and accept Seattle local time.
LANGUAGE_CODE = "en-us"
TIME_ZONE = TZ_NAME
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Uploads go to PostgreSQL (core.file_store), which every machine reaches.
    "default": {"BACKEND": "core.file_store.DatabaseStorage"},
    "staticfiles": {
        # Hashed names, module imports rewritten to them (core.static_storage).
        "BACKEND": "core.static_storage.ModuleManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploads are stored in PostgreSQL; files found here under their names (uploads from
# before, on the machine that has them) are still read, and moved by the migration.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"
# This machine's own: where training writes a checkpoint before storing it in
# PostgreSQL, and where a worker keeps the checkpoints it fetched (checkpoints/,
# by content hash). Never shared between machines (core.file_store).
ARTIFACTS_DIR = Path(env_str("ARTIFACTS_DIR", str(BASE_DIR / "var" / "artifacts")))

# --- Geography (fixed points shared by every part) --------------------------------
STORAGE_SRID = 4326  # incidents and areas are stored in WGS84
ANALYSIS_SRID = 32610  # UTM 10N: every distance and grid computation is metric
API_SRID = 4326  # the API speaks WGS84 GeoJSON
# The grid's origin and cell-id formula are fixed in ml.grid; only the size is set here.
GRID_CELL_SIZE = env_int("GRID_CELL_SIZE", 150, minimum=25)
HISTORY_CELL_SIZES = (150, 300, 600, 1200)
# History exports (CSV / GeoJSON) stop after this many rows and say so.
HISTORY_EXPORT_MAX_ROWS = env_int("HISTORY_EXPORT_MAX_ROWS", 20000, minimum=1)
BOUNDARIES_DIR = BASE_DIR / "data" / "boundaries"
# The OpenStreetMap street network (data/streets/README.md), loaded by a migration and
# `manage.py load_streets`; routes and the built-in base map come from it.
STREETS_FILE = BASE_DIR / "data" / "streets" / "seattle_osm_drive_2026-07-18.json.gz"
# Named places and park boundaries for the place index (places app).
PLACES_DIR = BASE_DIR / "data" / "places"
SEATTLE_CENTER = (47.6097, -122.3331)

# --- Data import -------------------------------------------------------------------
IMPORT_UPLOAD_MAX_BYTES = env_int(
    "IMPORT_UPLOAD_MAX_BYTES", 512 * 1024 * 1024, minimum=1
)
# Request bodies (core.request_limits): refused with 413 from Content-Length alone.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
REQUEST_MAX_BODY_BYTES = env_int("REQUEST_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = env_str("UPLOAD_TEMP_DIR", str(BASE_DIR / "var" / "tmp"))
FILE_UPLOAD_HANDLERS = [
    "core.request_limits.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
SODA_BASE_URL = env_str(
    "SODA_BASE_URL", "https://data.seattle.gov/resource/tazs-3rd5.json"
)
SODA_APP_TOKEN = env_str("SODA_APP_TOKEN", "")
SODA_PAGE_SIZE = env_int("SODA_PAGE_SIZE", 5000, minimum=1)
# The report-time field used to order and resume a sync: report_datetime in the
# pre-2025 schema, report_date_time in the 2025 republish.
SODA_REPORT_TIME_FIELD = env_str("SODA_REPORT_TIME_FIELD", "report_datetime")

# --- Map ---------------------------------------------------------------------------
# The base map is the site's own (vector tiles, style, glyphs, MapLibre GL: nothing
# from another host). MAP_TILES_URL set = raster tiles from that server instead.
MAP_TILES_URL = env_str("MAP_TILES_URL", "")
MAP_TILES_ATTRIBUTION = env_str(
    "MAP_TILES_ATTRIBUTION", "&copy; OpenStreetMap contributors"
)
# The base map's glyph PBFs, made on this machine (manage.py build_glyphs).
MAP_GLYPHS_DIR = Path(env_str("MAP_GLYPHS_DIR", str(BASE_DIR / "var" / "glyphs")))

# --- API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["core.json_renderer.FastJSONRenderer"],
    # JSON bodies only: any other content type is a 415 (core.json_body).
    "DEFAULT_PARSER_CLASSES": ["core.json_body.JSONBodyParser"],
    "EXCEPTION_HANDLER": "core.api_errors.drf_exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # One anonymous rate for every endpoint, exports also their own (core.throttling).
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.AnonWindowThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_ANON_RATE", "600/minute"),
        "export": env_str("API_EXPORT_RATE", "10/minute"),
        # The base map's tiles (streets.views.TileThrottle): a page loads dozens.
        "tiles": env_str("TILE_RATE", "1200/minute"),
    },
    "NUM_PROXIES": PROXY_HOPS,
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_VERSION": "v1",
}
# Forecast answers are cut from the stored weeks held in each web process's memory
# (predictions.services.forecast_slices): at most this much of it, least recently
# used weeks first out (a week of 10k cells with every rendering: ~50 MB).
FORECAST_MEMORY_MB = env_int("FORECAST_MEMORY_MB", 256, minimum=16)

# Routing (commutes along the streets) runs in at most ROUTING_SLOTS threads per web
# process, at most ROUTING_QUEUE more wait up to ROUTING_WAIT_S for a slot, the rest
# get a 503 at once (core.work_slots): so threads are always free for pages and
# cached reads. The queue stays below the threads per process
# (crimepredict_site/gunicorn.conf.py, WEB_THREADS).
WEB_THREADS = env_int("WEB_THREADS", 12, minimum=0)
ROUTING_SLOTS = env_int("ROUTING_SLOTS", 1, minimum=1)
ROUTING_QUEUE = env_int("ROUTING_QUEUE", max(0, WEB_THREADS - 4), minimum=0)
# Each gunicorn worker builds the street graph and the forecast week before its first
# request (commutes.services.warm_up); off: the first request builds them.
WEB_WARM_UP = env_bool("WEB_WARM_UP", True)
ROUTING_WAIT_S = env_int("ROUTING_WAIT_S", 10, minimum=0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Crime Predict API",
    "DESCRIPTION": (
        "Read-only API over Seattle Police Department reported incidents, hourly "
        "forecasts of reported crime for areas (never people), and commute scoring."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema_hooks.describe_api",
        "crimes.api.schema.vocabulary_enums",
        "commutes.api.schema.add_components",
    ],
}

# --- Celery ------------------------------------------------------------------------
CELERY_BROKER_URL = check_redis_url("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3600, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3900, minimum=1)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Nobody reads task results: a web process must not subscribe to the result store
# (with Redis gone, Celery's result consumer gives up for the life of the process).
CELERY_TASK_IGNORE_RESULT = True
# With Redis down, enqueueing fails within seconds (core.queue answers 503) instead
# of a request hanging through Celery's default retries.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
# Training needs the accelerator: it goes to workers started with `-Q gpu`.
CELERY_TASK_ROUTES = {"predictions.tasks.train_model": {"queue": "gpu"}}

SCHEDULE_SYNC = env_bool("SCHEDULE_SYNC", False)
SCHEDULE_RETRAIN = env_bool("SCHEDULE_RETRAIN", False)
SCHEDULE_FORECAST = env_bool("SCHEDULE_FORECAST", False)
# Always on: runs whose worker died are marked failed within this many seconds
# (core.tasks.reclaim_dead_runs, run by beat itself), with nobody looking at the admin
# and no worker alive.
RECLAIM_INTERVAL_S = env_int("RECLAIM_INTERVAL_S", 60, minimum=1)
# Always on: cache versions not bumped during a Redis outage are bumped within this
# many seconds of its end (core.tasks.apply_pending_cache_bumps; core.pending_bumps).
PENDING_BUMPS_INTERVAL_S = env_int("PENDING_BUMPS_INTERVAL_S", 60, minimum=1)
# Beat performs the upkeep entries (reclaim-dead-runs, apply-pending-cache-bumps) in its
# own process, so they happen when no worker is alive (core.upkeep_scheduler).
CELERY_BEAT_SCHEDULER = "core.upkeep_scheduler:UpkeepScheduler"
CELERY_BEAT_SCHEDULE = {
    name: entry
    for name, entry, enabled in [
        (
            "sync-spd-daily",
            {"task": "crimes.tasks.sync_spd", "schedule": crontab(hour=4, minute=15)},
            SCHEDULE_SYNC,
        ),
        (
            "retrain-weekly",
            {
                "task": "predictions.tasks.train_model_scheduled",
                "schedule": crontab(day_of_week="sun", hour=5, minute=0),
            },
            SCHEDULE_RETRAIN,
        ),
        (
            "forecast-hourly",
            {
                "task": "predictions.tasks.precompute_forecasts_scheduled",
                "schedule": crontab(minute=5),
            },
            SCHEDULE_FORECAST,
        ),
        (
            "reclaim-dead-runs",
            {"task": "core.tasks.reclaim_dead_runs", "schedule": RECLAIM_INTERVAL_S},
            True,
        ),
        (
            "apply-pending-cache-bumps",
            {
                "task": "core.tasks.apply_pending_cache_bumps",
                "schedule": PENDING_BUMPS_INTERVAL_S,
            },
            True,
        ),
    ]
    if enabled
}

# --- Commute notes (alerts): email through any SMTP relay (README "Commute notes").
# The absolute address links in an email start with (no request to take it from).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # implicit TLS, usually port 465
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_S", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Crime Predict <notes@localhost>")
# Emails per second per worker process (alerts.tasks.send_notes paces itself to it).
ALERTS_SEND_RATE = env_str("ALERTS_SEND_RATE", "10/s")
# A send the relay answered "not now" (4xx) is retried after this, doubling each time.
ALERTS_RETRY_BASE_S = env_int("ALERTS_RETRY_BASE_S", 30, minimum=1)
# How often beat plans the notes due soon (alerts.tasks.plan_notes).
ALERTS_PLAN_INTERVAL_S = env_int("ALERTS_PLAN_INTERVAL_S", 300, minimum=1)
CELERY_BEAT_SCHEDULE["plan-commute-notes"] = {
    "task": "alerts.tasks.plan_notes",
    "schedule": ALERTS_PLAN_INTERVAL_S,
}
CELERY_BEAT_SCHEDULE["commute-notes-retention"] = {
    "task": "alerts.tasks.apply_retention",
    "schedule": crontab(hour=3, minute=30),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Debian 12 ships GDAL 3.6, which cannot block file/network access from spatial
# references. We never hand user-supplied SRS definitions to GDAL (uploads are CSV/JSON
# parsed in Python, routes are GeoJSON parsed by GEOS with a fixed SRID).
# drf_spectacular.W001: the GeoJSON members named "type" (Point, Feature,
# FeatureCollection, LineString) get generated enum names; the schema is still right.
SILENCED_SYSTEM_CHECKS = ["gis.W001", "drf_spectacular.W001"]
