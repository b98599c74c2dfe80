"""The given name's sound (NYSIIS of its key) on every name, and the blocks that use it: a
changed family name with a slipped date of birth, and the right names with the day and month
wrong (issue 14)."""

import jellyfish
from django.db import migrations, models

BATCH = 5_000


def fill_given_sound(apps, schema_editor):
    # The same rule as children.matching.phonetic, written out so that this migration never
    # changes when the application code does.
    Name = apps.get_model("children", "Name")
    batch = []
    for name in Name.objects.only("given_key").order_by("pk").iterator(chunk_size=BATCH):
        name.given_sound = jellyfish.nysiis(name.given_key)[:12] if name.given_key else ""
        batch.append(name)
        if len(batch) == BATCH:
            Name.objects.bulk_update(batch, ["given_sound"])
            batch = []
    Name.objects.bulk_update(batch, ["given_sound"])


class Migration(migrations.Migration):
    dependencies = [("children", "0005_duplicates")]

    operations = [
        migrations.RemoveIndex(model_name="name", name="name_search_block"),
        migrations.AddField(
            model_name="name",
            name="given_sound",
            field=models.CharField(blank=True, editable=False, max_length=12),
        ),
        migrations.RunPython(fill_given_sound, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="name",
            index=models.Index(
                fields=["date_of_birth", "family_sound"],
                include=("child_id", "family_key", "given_key", "given_sound"),
                name="name_search_block",
            ),
        ),
        migrations.AddIndex(
            model_name="name",
            index=models.Index(
                fields=["date_of_birth", "given_sound"],
                include=("child_id", "family_key", "given_key", "family_sound"),
                name="name_given_sound_block",
            ),
        ),
        migrations.AddIndex(
            model_name="name",
            index=models.Index(
                fields=["family_sound", "given_sound", "date_of_birth"],
                include=("child_id", "family_key", "given_key"),
                name="name_sounds_block",
            ),
        ),
    ]
