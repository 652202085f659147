import io

import pytest

from yingshang.cli import main
from yingshang.core.models import ApiToken, AuditLog, Role, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def stdin(monkeypatch):
    def feed(text: str):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
    return feed


def test_add_reads_the_password_from_stdin(org, stdin, capsys):
    stdin("Zhoukou-2025!\n")
    code = main(["users", "add", "li_si", "--role", "handler", "--department", "SCJG", "--region", "411602",
                 "--display-name", "李四", "--phone", "13700137000", "--password-stdin"])
    assert code == 0, capsys.readouterr().err
    user = User.objects.get(username="li_si")
    assert user.check_password("Zhoukou-2025!") and user.role == Role.HANDLER and user.department == org.market
    assert "li_si" in capsys.readouterr().out
    assert AuditLog.objects.for_object(user).get().actor_name == "命令行"


@pytest.mark.parametrize("argv,text,message", [
    (["--role", "handler"], "pw-123456\n", "所属单位"),
    (["--role", "enterprise", "--enterprise", "bad"], "pw-123456\n", "统一社会信用代码"),
    (["--role", "dispatcher", "--region", "000000"], "pw-123456\n", "区划代码"),
    (["--role", "dispatcher"], "\n", "密码不能为空"),
])
def test_add_errors_are_chinese_and_exit_1(org, stdin, capsys, argv, text, message):
    stdin(text)
    assert main(["users", "add", "wang", *argv, "--password-stdin"]) == 1
    assert message in capsys.readouterr().err
    assert not User.objects.filter(username="wang").exists()


def test_add_refuses_a_password_on_the_command_line(org, capsys):
    assert main(["users", "add", "wang", "--role", "dispatcher"]) == 1
    assert "--password-stdin" in capsys.readouterr().err


def test_token_prints_only_a_working_token(org, capsys, api_client):
    assert main(["users", "token", "t_leader", "--name", "大屏", "--days", "7"]) == 0
    out = capsys.readouterr().out
    token = out.strip()
    assert out == token + "\n" and token.startswith("ys_")
    row = ApiToken.objects.get(digest=ApiToken.hash(token))
    assert row.name == "大屏" and row.expires_at is not None
    resp = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert resp.json()["username"] == "t_leader"


def test_token_for_unknown_user_fails(org, capsys):
    assert main(["users", "token", "nobody"]) == 1
    assert "不存在" in capsys.readouterr().err


def test_revoke_by_prefix_and_all(org, capsys):
    main(["users", "token", "t_leader"])
    main(["users", "token", "t_leader"])
    first, second = capsys.readouterr().out.split()
    assert main(["users", "revoke", "t_leader", "--prefix", first[:10]]) == 0
    assert list(ApiToken.objects.active().values_list("digest", flat=True)) == [ApiToken.hash(second)]
    assert main(["users", "revoke", "t_leader", "--prefix", first[:10]]) == 1
    assert main(["users", "revoke", "t_leader", "--all"]) == 0
    assert not ApiToken.objects.active().exists()


def test_list_and_deactivate(org, capsys):
    assert main(["users", "deactivate", "t_steward", "--reason", "调岗"]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--role", "steward"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split("\t")[0] == "t_steward" and lines[1].endswith("停用") and len(lines) == 2


def test_worker_refuses_to_start_without_a_broker(capsys, settings):
    settings.YINGSHANG_JOBS, settings.CELERY_BROKER_URL = "inprocess", ""
    assert main(["worker"]) == 1
    assert "CELERY_BROKER_URL" in capsys.readouterr().err
