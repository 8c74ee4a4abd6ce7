from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Shared infrastructure"

    def ready(self) -> None:
        from core.request_limits import remove_stale_temp_files, temp_dir

        # Django needs the upload temp folder to exist; what a killed server worker
        # left there is removed when the next process starts.
        temp_dir().mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files()
