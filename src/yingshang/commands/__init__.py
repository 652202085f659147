"""CLI sub-commands. Call ``setup_django()`` inside a command's ``func`` before touching models."""
from __future__ import annotations

import argparse
import os
import re
import sys


def setup_django(mode: str | None = None) -> None:
    """Configure Django for a command; ``mode`` sets YINGSHANG_MODE unless the environment has one."""
    if mode:
        os.environ.setdefault("YINGSHANG_MODE", mode)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yingshang.settings")
    import django

    django.setup()


def migrate(verbosity: int = 0) -> None:
    """Apply migrations (creates the embedded database on first use)."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def database_errors(func):
    """Wrap a command so that an unreachable or uninitialised database is a Chinese message and exit
    status 1, not a traceback (``no such table`` on a fresh embedded database, a PostgreSQL server down)."""
    import functools

    @functools.wraps(func)
    def wrapper(args):
        from django.db import DatabaseError

        from yingshang.cli import CommandError

        try:
            return func(args)
        except DatabaseError as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CommandError(f"无法访问数据库({detail})。首次使用请先运行 yingshang manage migrate"
                               "(或 yingshang demo);使用 PostgreSQL 时请检查 DATABASE_URL 和数据库服务") from None

    return wrapper


def check_port(port: int) -> int:
    """A TCP port given on the command line (1–65535); larger numbers would wrap around silently."""
    from yingshang.cli import CommandError

    if not 1 <= port <= 65535:
        raise CommandError(f"--port 应在 1–65535 之间(收到 {port})", code=2)
    return port


def file_errors(path: str, exc: OSError):
    """The CommandError for a file that cannot be read or written, naming the file and the reason."""
    from yingshang.cli import CommandError

    reasons = {IsADirectoryError: "是目录,不是文件", FileNotFoundError: "文件或所在目录不存在",
               PermissionError: "没有读写权限", NotADirectoryError: "路径中有一段不是目录"}
    reason = next((r for kind, r in reasons.items() if isinstance(exc, kind)), exc.strerror or str(exc))
    return CommandError(f"无法访问文件 {path}: {reason}")


# argparse's own error messages are English; these patterns cover every error it raises for the
# options the commands declare (Python 3.11–3.13 wording).
_ARGPARSE_ZH = (
    (r"the following arguments are required: (.+)", "缺少必需的参数: {0}"),
    (r"argument (.+?): invalid choice: '?(.*?)'? \(choose from (.+)\)", "参数 {0} 的取值“{1}”无效,可选: {2}"),
    (r"argument (.+?): invalid int value: '(.*)'", "参数 {0} 的取值“{1}”应为整数"),
    (r"argument (.+?): invalid float value: '(.*)'", "参数 {0} 的取值“{1}”应为数字"),
    (r"argument (.+?): invalid (\S+) value: '(.*)'", "参数 {0} 的取值“{2}”无效"),
    (r"argument (.+?): expected one argument", "参数 {0} 需要一个值"),
    (r"argument (.+?): expected at least one argument", "参数 {0} 至少需要一个值"),
    (r"argument (.+?): not allowed with argument (.+)", "参数 {0} 不能与 {1} 同时使用"),
    (r"argument (.+?): ignored explicit argument '(.*)'", "参数 {0} 不接受取值“{1}”"),
    (r"one of the arguments (.+) is required", "必须给出以下参数之一: {0}"),
    (r"unrecognized arguments: (.+)", "无法识别的参数: {0}"),
    (r"ambiguous option: (\S+) could match (.+)", "选项 {0} 有歧义,可能是: {1}"),
)


def translate_argparse_error(message: str) -> str:
    """argparse's English error message in Chinese (unknown messages are kept, prefixed)."""
    for pattern, template in _ARGPARSE_ZH:
        match = re.fullmatch(pattern, message.strip(), flags=re.S)
        if match:
            return template.format(*match.groups())
    return f"命令行参数有误: {message}"


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are in Chinese (exit status 2). Sub-command parsers inherit the
    class from the top-level parser, so using it in ``cli.build_parser`` covers every command."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 错误: {translate_argparse_error(message)}\n")
