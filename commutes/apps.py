from django.apps import AppConfig


class CommutesConfig(AppConfig):
    name = "commutes"
    verbose_name = "Commutes"
