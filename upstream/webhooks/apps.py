from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "upstream.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
