from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "upstream.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
