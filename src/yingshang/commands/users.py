"""``yingshang users add|token|revoke|deactivate|list`` — manage accounts and API tokens from the shell.
Changes are audited with the actor「命令行」."""
from __future__ import annotations

import sys

from yingshang.cli import CommandError
from yingshang.commands import database_errors, setup_django

ACTOR = "命令行"


def add_parser(sub) -> None:
    p = sub.add_parser("users", help="用户和 API 令牌管理")
    users = p.add_subparsers(dest="users_command", metavar="操作")

    add = users.add_parser("add", help="新建用户(密码从标准输入读取)")
    add.add_argument("username")
    add.add_argument("--role", required=True, help="角色代码,如 admin、dispatcher、handler、enterprise")
    add.add_argument("--department", help="所属单位代码(承办人员、政策专员、部门负责人必填)")
    add.add_argument("--region", help="管辖区划代码")
    add.add_argument("--enterprise", help="所属企业统一社会信用代码(企业用户必填)")
    add.add_argument("--display-name", default="", help="姓名")
    add.add_argument("--phone", default="")
    add.add_argument("--email", default="")
    add.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码(必需)")
    add.set_defaults(func=database_errors(_add))

    token = users.add_parser("token", help="签发新 API 令牌(标准输出只打印令牌)")
    token.add_argument("username")
    token.add_argument("--name", default="", help="令牌用途")
    token.add_argument("--days", type=int, default=None, help="有效天数(默认不过期)")
    token.set_defaults(func=database_errors(_token))

    revoke = users.add_parser("revoke", help="吊销 API 令牌")
    revoke.add_argument("username")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="吊销该用户的全部令牌")
    which.add_argument("--prefix", help="只吊销前缀以此开头的令牌(如 ys_AbC12)")
    revoke.set_defaults(func=database_errors(_revoke))

    deactivate = users.add_parser("deactivate", help="停用用户并吊销其全部令牌")
    deactivate.add_argument("username")
    deactivate.add_argument("--reason", default="")
    deactivate.set_defaults(func=database_errors(_deactivate))

    listing = users.add_parser("list", help="列出用户")
    listing.add_argument("--role", help="只列出该角色")
    listing.set_defaults(func=database_errors(_list))

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _domain(call, *args, **kwargs):
    """Run an action, turning its domain errors into a CLI error (Chinese message, exit 1)."""
    from yingshang.core.errors import DomainError

    try:
        return call(*args, **kwargs)
    except DomainError as exc:
        raise CommandError(exc.message) from exc


def _user(username: str):
    from yingshang.core.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"用户「{username}」不存在")
    return user


def _read_password(args) -> str:
    if not args.password_stdin:
        raise CommandError("请用 --password-stdin 从标准输入提供密码(不在命令行上传递密码)")
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise CommandError("密码不能为空")
    return password


def _add(args) -> int:
    setup_django()
    from yingshang.core import actions

    password = _read_password(args)
    user = _domain(actions.do_create_user, ACTOR, args.username, args.role, password,
                   department=args.department, region=args.region, enterprise=args.enterprise,
                   display_name=args.display_name, phone=args.phone, email=args.email)
    print(f"已创建用户 {user.username}({user.get_role_display()})")
    return 0


def _token(args) -> int:
    setup_django()
    import datetime as dt

    from django.utils import timezone

    from yingshang.core import actions

    if args.days is not None and args.days <= 0:
        raise CommandError("--days 必须是正整数")
    expires_at = timezone.now() + dt.timedelta(days=args.days) if args.days else None
    token = _domain(actions.do_issue_token, ACTOR, _user(args.username), name=args.name or "命令行签发",
                    expires_at=expires_at)
    print(token)
    return 0


def _revoke(args) -> int:
    setup_django()
    from yingshang.core import actions

    count = _domain(actions.do_revoke_tokens, ACTOR, _user(args.username), prefix=None if args.all else args.prefix)
    if not count and args.prefix:
        raise CommandError(f"用户「{args.username}」没有前缀为「{args.prefix}」的有效令牌")
    print(f"已吊销 {count} 个令牌")
    return 0


def _deactivate(args) -> int:
    setup_django()
    from yingshang.core import actions

    _domain(actions.do_deactivate_user, ACTOR, _user(args.username), reason=args.reason)
    print(f"已停用用户 {args.username}")
    return 0


def _list(args) -> int:
    setup_django()
    from yingshang.core.models import User

    from yingshang.core.models import Role

    if args.role and args.role not in Role.values:
        raise CommandError(f"未知角色「{args.role}」,可选: {', '.join(Role.values)}")
    qs = User.objects.select_related("department", "region", "enterprise").order_by("username")
    if args.role:
        qs = qs.filter(role=args.role)
    print("\t".join(["用户名", "角色", "姓名", "单位", "区划", "企业", "状态"]))
    for u in qs.iterator(chunk_size=1000):
        state = ("启用" if u.is_active else "停用") + ("·演示" if u.is_demo else "")
        print("\t".join([u.username, u.role, u.display_name, u.department.code if u.department else "",
                         u.region_id or "", u.enterprise.uscc if u.enterprise else "", state]))
    return 0
