from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"
    verbose_name = "Forecasts"

    def ready(self) -> None:
        from core.cache import FORECASTS, GRID, MODELS, track

        from .models import Cell, ForecastRun, ForecastValues, ModelVersion

        # What invalidates what (core.cache). The grid and the forecast rows are
        # written with SQL / COPY (build_cells and write_forecast bump) or through
        # their querysets; no per-row delete signal on these big tables (Django would
        # load every row, blobs included, to send it). A cascade from a deleted
        # version or run is seen by that parent's signal.
        track(Cell, GRID, row_deletes=False)
        track(ModelVersion, FORECASTS, MODELS)
        track(ForecastRun, FORECASTS)
        track(ForecastValues, FORECASTS, row_deletes=False)
