from django.apps import AppConfig


class DriftConfig(AppConfig):
    name = "upstream.drift"
    label = "drift"
    verbose_name = "Drift detection"
