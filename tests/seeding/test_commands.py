"""``demo``'s seed-if-empty logic and ``serve``'s refusal to start unsafely (no server is started)."""
from __future__ import annotations

import os
import subprocess
import sys

from yingshang.commands.demo import accounts_table, seed_if_empty
from yingshang.commands.serve import demo_accounts_with_password, pending_migrations, production_problems
from yingshang.core.models import User
from yingshang.enterprises.models import Enterprise


def test_demo_seeds_an_empty_database_once(db):
    first = seed_if_empty("small", 1)
    assert first is not None and first.enterprises == Enterprise.objects.count() == 2000
    assert seed_if_empty("small", 1) is None
    assert Enterprise.objects.count() == 2000


def test_demo_leaves_an_existing_register_alone(org):
    before = Enterprise.objects.count()
    assert seed_if_empty("small", 1) is None
    assert Enterprise.objects.count() == before
    assert not User.objects.filter(username="dispatcher").exists()


def test_demo_accounts_table_lists_every_demo_account(seeded):
    table = accounts_table()
    assert [row[0] for row in table][:2] == ["admin", "dispatcher"]
    # every demo account that can log in; the seeded policy applicants (unusable passwords) are left out
    loginable = [u.username for u in User.objects.filter(is_demo=True) if u.has_usable_password()]
    assert sorted(row[0] for row in table) == sorted(loginable)
    assert len(loginable) < User.objects.filter(is_demo=True).count()
    assert dict((u, scope) for u, _, scope in table)["fugou_dispatcher"] == "扶沟县"


def test_serve_refuses_while_demo_accounts_can_log_in(seeded):
    assert "admin" in demo_accounts_with_password()
    problems = production_problems()
    assert any("演示账号" in p for p in problems)


def test_serve_accepts_once_demo_passwords_are_removed(seeded):
    for user in User.objects.filter(is_demo=True):
        user.set_unusable_password()
        user.save()
    User.objects.create_user("ops", password="a-long-real-password", role="admin")
    assert demo_accounts_with_password() == []
    assert not any("演示账号" in p for p in production_problems())


def test_inactive_demo_accounts_do_not_block_serve(seeded):
    User.objects.filter(is_demo=True).update(is_active=False)
    assert demo_accounts_with_password() == []


def test_no_pending_migrations_in_the_test_database(db):
    assert pending_migrations() == []


def test_serve_refuses_production_without_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE", "YINGSHANG_DEBUG")}
    env.update(YINGSHANG_MODE="production", YINGSHANG_HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "yingshang", "serve", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "拒绝启动" in proc.stderr and "SECRET_KEY" in proc.stderr


def test_seed_command_refuses_production_mode(tmp_path):
    env = dict(os.environ, YINGSHANG_MODE="production", YINGSHANG_HOME=str(tmp_path), SECRET_KEY="k" * 60)
    env.pop("DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-m", "yingshang", "seed", "--size", "small"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "生产模式" in proc.stderr
