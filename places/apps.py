from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "places"
    verbose_name = "Places"

    def ready(self) -> None:
        from places.services.index import streets_for_loaded_network
        from streets.signals import network_loaded

        # The network's streets and intersections are places: every load rebuilds
        # them in its own transaction.
        network_loaded.connect(streets_for_loaded_network, dispatch_uid="places")
