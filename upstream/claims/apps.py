from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "upstream.claims"
    label = "claims"
    verbose_name = "Claims"
