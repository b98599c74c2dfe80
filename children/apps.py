"""Children: the register of children in services, matching and search, imports and retention."""

from django.apps import AppConfig


class ChildrenConfig(AppConfig):
    name = "children"
    verbose_name = "Children's register"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from children import checks  # noqa: F401  (registers the system checks)
        from children.catalogue import ensure_service_catalogue

        post_migrate.connect(
            ensure_service_catalogue, sender=self, dispatch_uid="service_catalogue"
        )
