"""Load the GB/T 4754-2017 sections, divisions and the groups/classes the size standard names."""
from django.db import migrations


def load(apps, schema_editor):
    from yingshang.enterprises.industries import table

    Industry = apps.get_model("enterprises", "Industry")
    entries = sorted(table().values(), key=lambda e: ("section", "division", "group", "class").index(e.level))
    for e in entries:
        Industry.objects.update_or_create(code=e.code, defaults={"name": e.name, "level": e.level,
                                                                 "parent_id": e.parent or None})


def unload(apps, schema_editor):
    apps.get_model("enterprises", "Industry").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("enterprises", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
