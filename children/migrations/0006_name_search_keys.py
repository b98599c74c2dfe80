"""More stored search keys on every name (issue 14): the given name's sound (NYSIIS of its
key), and the child's current postcode and outward code; and the blocks that use them: a
changed family name with a slipped date of birth, the right names with the date wrong, the
outward code with either name's sound, and past addresses by outward code."""

import jellyfish
from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

BATCH = 5_000


def fill_keys(apps, schema_editor):
    # The same rules as children.matching.phonetic and children.services.names_follow_address,
    # written out so that this migration never changes when the application code does.
    Name = apps.get_model("children", "Name")
    Address = apps.get_model("children", "Address")
    batch = []
    for name in Name.objects.only("given_key").order_by("pk").iterator(chunk_size=BATCH):
        name.given_sound = jellyfish.nysiis(name.given_key)[:12] if name.given_key else ""
        batch.append(name)
        if len(batch) == BATCH:
            Name.objects.bulk_update(batch, ["given_sound"])
            batch = []
    Name.objects.bulk_update(batch, ["given_sound"])
    current = Address.objects.filter(child_id=OuterRef("child_id"), moved_out_on__isnull=True)
    Name.objects.update(
        postcode=Coalesce(Subquery(current.values("postcode")[:1]), Value("")),
        outward_code=Coalesce(Subquery(current.values("outward_code")[:1]), Value("")),
    )


def _index(fields, include, name):
    return models.Index(fields=fields, include=include, name=name)


class Migration(migrations.Migration):
    dependencies = [("children", "0005_duplicates")]

    operations = [
        migrations.RemoveIndex(model_name="name", name="name_search_block"),
        migrations.AddField(
            model_name="name",
            name="given_sound",
            field=models.CharField(blank=True, editable=False, max_length=12),
        ),
        migrations.AddField(
            model_name="name",
            name="postcode",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.AddField(
            model_name="name",
            name="outward_code",
            field=models.CharField(blank=True, editable=False, max_length=4),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(
                condition=Q(moved_out_on__isnull=False),
                fields=["outward_code"],
                name="address_past_outward",
            ),
        ),
        migrations.AddIndex(
            model_name="name",
            index=_index(
                ["date_of_birth", "family_sound"],
                ("child_id", "family_key", "given_key", "given_sound", "postcode"),
                "name_search_block",
            ),
        ),
        migrations.AddIndex(
            model_name="name",
            index=_index(
                ["date_of_birth", "given_sound"],
                ("child_id", "family_key", "given_key", "family_sound", "postcode"),
                "name_given_sound_block",
            ),
        ),
        migrations.AddIndex(
            model_name="name",
            index=_index(
                ["family_sound", "given_sound", "date_of_birth"],
                ("child_id", "family_key", "given_key", "postcode"),
                "name_sounds_block",
            ),
        ),
        migrations.AddIndex(
            model_name="name",
            index=_index(
                ["outward_code", "family_sound"],
                ("child_id", "family_key", "given_key", "given_sound", "date_of_birth", "postcode"),
                "name_outward_family_block",
            ),
        ),
        migrations.AddIndex(
            model_name="name",
            index=_index(
                ["outward_code", "given_sound"],
                (
                    "child_id",
                    "family_key",
                    "given_key",
                    "family_sound",
                    "date_of_birth",
                    "postcode",
                ),
                "name_outward_given_block",
            ),
        ),
    ]
