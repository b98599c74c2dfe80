"""Where a merged-away record now lives: a public id that two records shared keeps leading to
the record that survived the merge (children.duplicates.children_merge writes MergedChild)."""

from collections.abc import Collection

from children.models import MergedChild


def merged_from_any(*, old_public_ids: Collection[str], survivor_public_id: str) -> bool:
    """Whether any of the old public ids was merged into this record (one query)."""
    return MergedChild.objects.filter(
        old_public_id__in=old_public_ids, survivor__public_id=survivor_public_id
    ).exists()


def merged_into(public_id: str) -> str | None:
    """The public id of the record that a merged-away public id now lives in."""
    return survivors_of([public_id]).get(public_id)


def survivors_of(public_ids: Collection[str]) -> dict[str, str]:
    """Merged-away public id -> the public id of the record it now lives in (one query)."""
    return dict(
        MergedChild.objects.filter(old_public_id__in=list(public_ids)).values_list(
            "old_public_id", "survivor__public_id"
        )
    )
