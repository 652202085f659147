"""Smoke tests of ``yingshang bench appeals`` and ``appeals_load`` at a tiny size: each runs end to end and
prints its JSON line with the expected figures. Timings are never asserted (BENCHMARKS.md records them).

They run on a temporary SQLite file, or on a scratch PostgreSQL database when DATABASE_URL points at one."""
from __future__ import annotations

import json
import os

from yingshang.bench import appeals, appeals_load
from yingshang.bench.appeals import CLOSED_MIX, INTAKE_MIX, OPEN_MIX

OPEN = set(OPEN_MIX) | set(INTAKE_MIX)

PG = (os.environ.get("DATABASE_URL") or "").startswith("postgres")


def _backend(name: str) -> list[str]:
    return ["--db", f"bench_appeals_smoke_{name}_{os.getpid()}"] if PG else ["--sqlite"]


def _json_line(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_appeals_bench_seeds_consistent_clocks_and_reports_every_figure(capsys, tmp_path):
    appeals.main([*_backend("main"), "--cases", "400", "--open", "80", "--repeat", "2", "--backlog", "20",
                  "--out", str(tmp_path)])
    r = _json_line(capsys)
    assert r["bench"] == "appeals" and r["db"] == ("postgresql" if PG else "sqlite")
    assert sum(r["statuses"].values()) == 400
    assert sum(n for s, n in r["statuses"].items() if s in OPEN) == 80
    assert set(r["statuses"]) <= OPEN | set(CLOSED_MIX)
    assert r["clock_checked"] > 0 and r["clock_mismatches"] == 0, r["clock_examples"]
    assert r["rows"]["appealevent"] > r["rows"]["appeals"] and r["rows"]["appealtask"] > 0
    assert {"baseline_health", "pool_first_page", "pool_status_open", "pool_overdue", "pool_due_soon",
            "pool_deep_page", "pool_department_big", "pool_region_county"} <= set(r["pool"])
    assert {"board_first_page", "board_deep_page", "board_search_common", "board_search_nohit"} <= set(r["board"])
    assert all({"p50_ms", "p95_ms", "max_ms", "n"} <= set(t) for t in [*r["pool"].values(), *r["board"].values()])
    assert set(r["kpis"]) == {"last_month", "this_month"} and r["kpis"]["last_month"]["rows"] > 0
    assert set(r["sweep"]) == {"empty", "backlog", "midnight", "midnight_committed"}
    assert r["sweep"]["empty"]["cases"] == 0
    # The committed rollover sweep fires what the rolled-back one did: same state before both.
    assert r["sweep"]["midnight_committed"]["cases"] == r["sweep"]["midnight"]["cases"]
    assert {"sweep_within", "http_within", "kpi_within", "worst_pool", "worst_board"} <= set(r["verdict"])


def test_appeals_load_bench_completes_life_cycles_over_http(capsys):
    appeals_load.main([*_backend("load"), "--cases", "200", "--open", "40", "--duration", "2", "--rate", "20",
                       "--procs", "1", "--conns", "2", "--workers", "1", "--threads", "2"])
    r = _json_line(capsys)
    assert r["bench"] == "appeals_load"
    assert r["health"]["overall"]["n"] > 0 and r["health"]["overall"]["errors"] == 0
    for phase in ("mixed_max", "mixed_paced"):
        actions = r[phase]["per_action"]
        assert set(actions) == set(appeals_load.ACTIONS), actions
        assert all(a["n"] > 0 and not any(code.startswith("5") for code in a["errors"]) for a in actions.values())
        assert {"p50_ms", "p95_ms", "p99_ms", "p95_ms_sched", "per_s"} <= set(r[phase]["overall"])

