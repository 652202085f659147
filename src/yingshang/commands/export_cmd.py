"""``yingshang export enterprises FILE.xlsx [--region CODE] [--with-contacts]``."""
from __future__ import annotations

from yingshang.cli import CommandError
from yingshang.commands import database_errors, file_errors, setup_django

ACTOR = "命令行"


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="导出数据(企业档案 XLSX)")
    what = p.add_subparsers(dest="export_what", metavar="对象")
    ent = what.add_parser("enterprises", help="导出企业档案(列与导入模板相同,可修改后重新导入)")
    ent.add_argument("file", help="输出的 .xlsx 文件")
    ent.add_argument("--region", help="只导出该区划(含下级)的企业")
    ent.add_argument("--with-contacts", action="store_true", help="包含法定代表人、联系人、联系电话(个人信息)")
    ent.add_argument("--template", action="store_true", help="只写出空白导入模板")
    ent.set_defaults(func=database_errors(run))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run(args) -> int:
    if not args.file.lower().endswith(".xlsx"):
        raise CommandError("输出文件应以 .xlsx 结尾")
    _check_target(args.file)
    setup_django()
    from yingshang.enterprises.exporter import write_template

    if args.template:
        try:
            write_template(args.file)
        except OSError as exc:
            raise file_errors(args.file, exc) from None
        print(f"已写出导入模板: {args.file}")
        return 0
    from yingshang.core import audit
    from yingshang.core.models import AuditAction, Region
    from yingshang.enterprises.exporter import export_enterprises
    from yingshang.enterprises.models import Enterprise

    qs = Enterprise.objects.all()
    qs.exists()  # a database problem surfaces here, before the streaming workbook is opened
    if args.region:
        region = Region.objects.filter(code=args.region).first()
        if region is None:
            raise CommandError(f"区划代码“{args.region}”不存在")
        qs = qs.in_region(region.prefix)
    try:
        count = export_enterprises(qs, args.file, include_personal=args.with_contacts)
    except OSError as exc:
        raise file_errors(args.file, exc) from None
    audit.record(ACTOR, AuditAction.EXPORT, None, object_type="enterprises.register", object_id=args.region or "all",
                 object_repr=f"导出企业档案 {count} 家", changes={"count": count, "with_contacts": args.with_contacts})
    print(f"已导出 {count} 家企业到 {args.file}")
    return 0


def _check_target(file: str) -> None:
    """Refuse an output path that cannot be written before the workbook is opened: openpyxl's
    streaming writer otherwise leaves a half-closed generator that prints a traceback at exit."""
    from pathlib import Path

    path = Path(file)
    if path.is_dir():
        raise CommandError(f"无法写出 {file}: 这是一个目录,请给出文件名")
    if not path.resolve().parent.is_dir():
        raise CommandError(f"无法写出 {file}: 目录 {path.resolve().parent} 不存在")
