"""The default computed tags (rules in the format of ``enterprises.tags``)."""
from django.db import migrations

DEFAULT_TAGS = [
    ("startup", "初创企业", {"all": [{"field": "age_years", "op": "<=", "value": 3}]},
     "成立不满4周岁(周岁年龄≤3)"),
    ("rd_intensive", "研发投入型", {"all": [{"field": "rd_ratio", "op": ">=", "value": "0.03"}]},
     "研发费用占营业收入比例≥3%"),
    ("small_micro", "小微企业", {"all": [{"field": "size", "op": "in", "value": ["small", "micro"]}]},
     "按《统计上大中小微型企业划分办法(2017)》为小型或微型企业"),
    ("high_tech", "高新技术企业", {"all": [{"field": "certification", "op": "==", "value": "high_tech"}]},
     "持有高新技术企业资质"),
    ("specialized", "专精特新",
     {"all": [{"field": "certification", "op": "in", "value": ["specialized_sme", "little_giant"]}]},
     "专精特新中小企业或专精特新“小巨人”企业"),
    ("tax_a", "纳税信用A级", {"all": [{"field": "tax_credit_rating", "op": "==", "value": "A"}]},
     "纳税信用等级为A级"),
]


def create(apps, schema_editor):
    Tag = apps.get_model("enterprises", "Tag")
    for code, name, rule, description in DEFAULT_TAGS:
        Tag.objects.update_or_create(code=code, defaults={"name": name, "kind": "computed", "rule": rule,
                                                          "description": description})


def remove(apps, schema_editor):
    apps.get_model("enterprises", "Tag").objects.filter(code__in=[t[0] for t in DEFAULT_TAGS]).delete()


class Migration(migrations.Migration):
    dependencies = [("enterprises", "0003_import_job")]
    operations = [migrations.RunPython(create, remove)]
