from django.db import migrations

# 清障 problems: 1/3/5 working days (seed 002 item 1); complaints: reply within 15 working days (seed 000).
DEFAULT_GRADES = [("urgent", "紧急", 1, 1), ("normal", "一般", 3, 2), ("complex", "复杂", 5, 3),
                  ("complaint", "投诉", 15, 4)]


def add_grades(apps, schema_editor):
    Grade = apps.get_model("appeals", "Grade")
    for code, name, days, order in DEFAULT_GRADES:
        Grade.objects.get_or_create(code=code, defaults={"name": name, "days": days, "order": order})


class Migration(migrations.Migration):
    dependencies = [("appeals", "0001_initial")]
    operations = [migrations.RunPython(add_grades, migrations.RunPython.noop)]
