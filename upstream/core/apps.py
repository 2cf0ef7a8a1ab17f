from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "upstream.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from upstream.core.api import schema_extensions  # noqa: F401  (registers OpenAPI extensions)
