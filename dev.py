#!/usr/bin/env python3
"""One-file bootstrap: `python3 dev.py demo` starts the demo, `python3 dev.py test` runs the tests.

Needs only Python ≥ 3.11. Creates ./.venv on first use, installs the project into it (again whenever
pyproject.toml changes) and then runs the requested command inside it.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
MARK = VENV / ".yingshang-installed"


def _fingerprint(extras: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest}:{extras}"


def ensure_venv(extras: str) -> None:
    """Create the virtual environment and install the project (editable) when needed."""
    if sys.version_info < (3, 11):
        sys.exit("营商通需要 Python 3.11 或更高版本")
    if not PY.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    wanted = _fingerprint(extras)
    if MARK.exists() and MARK.read_text() == wanted:
        return
    target = f".[{extras}]" if extras else "."
    subprocess.check_call([str(PY), "-m", "pip", "install", "-q", "-e", target], cwd=ROOT)
    MARK.write_text(wanted)


def ensure_browser() -> None:
    """Install Debian's chromium and a CJK font for the browser smoke test when we may (root, apt)."""
    fonts = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    if (shutil.which("chromium") and fonts.exists()) or os.environ.get("YINGSHANG_SKIP_BROWSER_INSTALL"):
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        print("提示: 未找到 chromium,浏览器冒烟测试将跳过", file=sys.stderr)
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.call(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
    # fonts-noto-cjk: without a CJK font the browser renders every Chinese character as a box.
    subprocess.call(["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"], env=env,
                    stdout=subprocess.DEVNULL)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "run"}:
        print("用法: python3 dev.py demo [--port 8000] [--size small|city|province]\n"
              "      python3 dev.py test [pytest 参数]\n"
              "      python3 dev.py run <yingshang 子命令>")
        return 2
    command, rest = argv[0], argv[1:]
    if command == "test":
        ensure_venv("test")
        ensure_browser()
        return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)
    ensure_venv("test" if MARK.exists() and MARK.read_text().endswith(":test") else "")
    args = rest if command == "run" else ["demo", *rest]
    return subprocess.call([str(PY), "-m", "yingshang", *args], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
