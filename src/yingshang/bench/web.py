"""Web page server time: the enterprise list (every filter kind, deep keyset pages) and the enterprise
page, measured in-process with Django's test client, logged in as a dispatcher.

Run against an already-seeded database (``DATABASE_URL``, e.g. the province-size PostgreSQL one):
``yingshang bench web [--repeat 30] [--user USERNAME]``. Baseline in the same run: ``GET /api/v1/health``.
The last line printed is JSON."""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="yingshang bench web", description="企业列表与一企一档页面的服务端耗时")
    p.add_argument("--repeat", type=int, default=30, help="每个用例的计时次数(默认 30)")
    p.add_argument("--warmup", type=int, default=3, help="每个用例的预热次数(默认 3)")
    p.add_argument("--user", default="", help="登录的调度员用户名(默认: 第一个市级调度员)")
    p.add_argument("--seed", type=int, default=1, help="随机抽取企业的种子")
    return p.parse_args(argv)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _time(client, urls: list[str], repeat: int, warmup: int) -> dict:
    """Time GETs cycling through ``urls``; every response must be 200."""
    for i in range(warmup):
        client.get(urls[i % len(urls)])
    samples = []
    for i in range(repeat):
        url = urls[i % len(urls)]
        start = time.perf_counter()
        resp = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        if resp.status_code != 200:
            raise SystemExit(f"{url} 返回 {resp.status_code}")
    return {"p50_ms": round(statistics.median(samples), 2), "p95_ms": round(_percentile(samples, 0.95), 2),
            "max_ms": round(max(samples), 2), "n": len(samples)}


def _dispatcher(username: str):
    from yingshang.core.models import Role, User

    qs = User.objects.filter(role=Role.DISPATCHER, is_active=True)
    user = qs.filter(username=username).first() if username else (
        qs.filter(region__level="city").order_by("id").first() or qs.order_by("id").first())
    if user is None:
        raise SystemExit("数据库中没有调度员账号:请先运行 yingshang seed")
    return user


def _sample_values(user, rng: random.Random) -> dict:
    """Real filter values from the database, within the user's scope."""
    from yingshang.core.access import visible_enterprises
    from yingshang.core.models import Region
    from yingshang.enterprises.models import Certification, Enterprise, Tag

    prefix = user.scope_prefix
    counties = list(Region.objects.filter(level="county", code__startswith=prefix).values_list("code", flat=True))
    county = rng.choice(counties) if counties else ""
    streets = list(Region.objects.filter(level="street", parent_id=county).values_list("code", flat=True))
    qs = visible_enterprises(user, Enterprise.objects.all())
    bounds = qs.order_by("id").values_list("id", flat=True)
    lo, hi = bounds.first(), qs.order_by("-id").values_list("id", flat=True).first()
    sample = qs.filter(id__gte=rng.randint(lo, hi)).order_by("id").values("name", "uscc").first()
    return {"county": county, "street": rng.choice(streets) if streets else "", "lo": lo, "hi": hi,
            "name_prefix": sample["name"][:4], "uscc": sample["uscc"],
            "tag": Tag.objects.order_by("code").values_list("code", flat=True).first() or "",
            "cert": Certification.objects.values_list("kind", flat=True).first() or "high_tech"}


def _list_cases(v: dict) -> dict[str, list[str]]:
    base = "/enterprises/"
    mid = (v["lo"] + v["hi"]) // 2
    cases = {
        "list_first_page": [base],
        "list_county": [f"{base}?county={v['county']}"],
        "list_street": [f"{base}?county={v['county']}&street={v['street']}"] if v["street"] else [],
        "list_industry_section": [f"{base}?industry=C", f"{base}?industry=F"],
        "list_industry_division": [f"{base}?industry=52", f"{base}?industry=13"],
        "list_size": [f"{base}?size=medium", f"{base}?size=large", f"{base}?size=unknown"],
        "list_tag": [f"{base}?tag={v['tag']}"] if v["tag"] else [],
        "list_certification": [f"{base}?cert={v['cert']}"],
        "list_status": [f"{base}?status=revoked"],
        "list_keyword_prefix": [f"{base}?q={v['name_prefix']}"],
        "list_keyword_uscc": [f"{base}?q={v['uscc']}"],
        "list_combined": [f"{base}?county={v['county']}&industry=F&size=micro&status=active"],
        "list_last_page": [f"{base}?last=1", f"{base}?county={v['county']}&last=1"],
        "list_deep_after": [f"{base}?after={mid}", f"{base}?after={v['lo'] + 50}"],
        "list_deep_before": [f"{base}?before={mid}", f"{base}?county={v['county']}&before={v['lo'] + 50}"],
        "list_last_page_rare_filter": [f"{base}?size=large&industry=A&last=1"],
    }
    return {k: u for k, u in cases.items() if u}


def _detail_urls(user, rng: random.Random, n: int, lo: int, hi: int) -> list[str]:
    from yingshang.core.access import visible_enterprises
    from yingshang.enterprises.models import Enterprise

    qs = visible_enterprises(user, Enterprise.objects.all()).order_by("id")
    usccs = [qs.filter(id__gte=rng.randint(lo, hi)).values_list("uscc", flat=True).first() for _ in range(n)]
    return [f"/enterprises/{u}/" for u in usccs if u]


def _home_stats_uncached(user) -> float:
    """One computation of the home page's scope counts, bypassing the cache."""
    from django.core.cache import cache

    from yingshang.core.views import register_stats

    cache.clear()
    start = time.perf_counter()
    register_stats(user)
    return round((time.perf_counter() - start) * 1000, 1)


def main(argv: list[str]) -> int:
    args = _parse(argv)
    from yingshang.commands import setup_django

    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    from yingshang.enterprises.models import Enterprise

    rng = random.Random(args.seed)
    user = _dispatcher(args.user)
    client = Client()
    client.force_login(user)
    values = _sample_values(user, rng)
    total = Enterprise.objects.count()
    print(f"数据库: {connection.vendor},企业 {total:,} 家;用户 {user.username}(范围 {user.scope_prefix or '全部'})",
          file=sys.stderr)
    results = {"baseline_health": _time(client, ["/api/v1/health"], args.repeat, args.warmup)}
    stats_ms = _home_stats_uncached(user)
    for name, urls in _list_cases(values).items():
        results[name] = _time(client, urls, args.repeat, args.warmup)
    results["home_cached_stats"] = _time(client, ["/"], args.repeat, args.warmup)
    results["enterprise_page_random"] = _time(client, _detail_urls(user, rng, max(args.repeat, 10), values["lo"],
                                                                   values["hi"]), args.repeat, args.warmup)
    print(f"首页统计(未缓存,每范围每 5 分钟一次): {stats_ms:.0f} ms")
    width = max(len(k) for k in results)
    for name, r in results.items():
        print(f"{name:<{width}}  p50 {r['p50_ms']:8.2f} ms  p95 {r['p95_ms']:8.2f} ms  max {r['max_ms']:8.2f} ms")
    worst = max((r["p95_ms"], k) for k, r in results.items() if k != "baseline_health")
    print(json.dumps({"bench": "web", "db": connection.vendor, "enterprises": total, "user": user.username,
                      "repeat": args.repeat,
                      "worst_p95_ms": worst[0], "worst_case": worst[1], "target_p95_ms": 100,
                      "home_stats_uncached_ms": stats_ms,
                      "results": results}, ensure_ascii=False))
    return 0
