from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Shared infrastructure"

    def ready(self) -> None:
        from core import charsets, pending_bumps, redis_guard
        from core.request_limits import remove_stale_temp_files, temp_dir

        # A client's Content-Type charset is never looked up in Python's codec
        # registry (bz2, zlib, rot13 are codecs there too).
        charsets.install()

        # Bumps lost to a Redis outage are applied by the first process that sees
        # Redis back (and by beat: core.tasks.apply_pending_cache_bumps).
        redis_guard.on_recovery(pending_bumps.after_recovery)

        # Django needs the upload temp folder to exist; what a killed server worker
        # left there is removed when the next process starts.
        temp_dir().mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files()
