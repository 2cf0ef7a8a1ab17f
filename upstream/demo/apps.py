from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "upstream.demo"
    label = "demo"
    verbose_name = "Demo data"
