"""System checks of the register's code (`manage.py check`, run by `make checks` and at start)."""

from django.core import checks


@checks.register(checks.Tags.models)
def merge_moves_every_relation(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A relation to Child that the merge does not know would lose its rows on a merge."""
    from children.duplicates import unhandled_relations

    return [
        checks.Error(
            f"children_merge does not know how to move {relation}",
            hint="Move its rows in children.duplicates.children_merge and list it in "
            "MERGE_RELATIONS.",
            id="children.E001",
        )
        for relation in unhandled_relations()
    ]
