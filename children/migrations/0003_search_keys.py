"""Stored search keys: names carry their keys and the child's date of birth, addresses their
outward code, so that every search block is an index lookup."""

import datetime

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

from children.matching import name_keys

BATCH = 2_000


def fill_keys(apps, schema_editor):
    Name = apps.get_model("children", "Name")
    Address = apps.get_model("children", "Address")
    Child = apps.get_model("children", "Child")
    Name.objects.update(
        date_of_birth=Subquery(
            Child.objects.filter(pk=OuterRef("child_id")).values("date_of_birth")[:1]
        )
    )
    names = Name.objects.only("given_names", "family_name").order_by("pk")
    batch = []
    for name in names.iterator(chunk_size=BATCH):
        for key, value in name_keys(
            given_names=name.given_names, family_name=name.family_name
        ).items():
            setattr(name, key, value)
        batch.append(name)
        if len(batch) == BATCH:
            Name.objects.bulk_update(batch, ["family_key", "given_key", "family_sound"])
            batch = []
    Name.objects.bulk_update(batch, ["family_key", "given_key", "family_sound"])
    addresses = []
    for address in Address.objects.only("postcode").order_by("pk").iterator(chunk_size=BATCH):
        address.outward_code = address.postcode.split(" ")[0]
        addresses.append(address)
    Address.objects.bulk_update(addresses, ["outward_code"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [("children", "0002_service_catalogue")]

    operations = [
        migrations.AddField(
            model_name="address",
            name="outward_code",
            field=models.CharField(
                blank=True, db_index=True, default="", editable=False, max_length=4
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="name",
            name="date_of_birth",
            field=models.DateField(default=datetime.date(1900, 1, 1), editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="name",
            name="family_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="name",
            name="family_sound",
            field=models.CharField(blank=True, default="", editable=False, max_length=12),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="name",
            name="given_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
            preserve_default=False,
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="name",
            index=models.Index(
                fields=["date_of_birth", "family_sound"],
                include=["child_id", "family_key", "given_key"],
                name="name_search_block",
            ),
        ),
    ]
