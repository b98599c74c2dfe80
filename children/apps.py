"""Children: the register of children in services, matching and search, imports and retention."""

from django.apps import AppConfig


class ChildrenConfig(AppConfig):
    name = "children"
    verbose_name = "Children's register"
