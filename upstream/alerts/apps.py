from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "upstream.alerts"
    label = "alerts"
    verbose_name = "Alerts"
