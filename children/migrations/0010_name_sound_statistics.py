"""PostgreSQL keeps finer statistics of the names' sounds, so that it plans the search's
blocks on the right index.

The register's family names are skewed, as real ones are: at 11,000,000 children a common
sound ("TAT") has 9,561 names where PostgreSQL's default statistics (the 100 commonest
values) guessed 1,562. On that guess it planned "a mistyped date, same family sound" as a
walk through every name of the sound (3.8 ms, bench/scale.py), not a lookup of each
mistyped date and the sound (0.3 ms). With the 1,000 commonest sounds in the statistics,
its guess for that sound was exact, and the plan the right one. ANALYZE reads a sample of
the table (5 s at 11,000,000 children) and blocks nothing. SQLite has no such statistics:
nothing to do there.
"""

from django.db import migrations

COLUMNS = ("family_sound", "given_sound")


def finer(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"ALTER TABLE children_name ALTER COLUMN {column} SET STATISTICS 1000"
        )
    schema_editor.execute(f"ANALYZE children_name ({', '.join(COLUMNS)})")


def default(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"ALTER TABLE children_name ALTER COLUMN {column} SET STATISTICS -1")


class Migration(migrations.Migration):
    dependencies = [
        ("children", "0009_involvement_org_service"),
    ]

    operations = [migrations.RunPython(finer, default)]
