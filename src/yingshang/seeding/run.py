"""``seed``: write a deterministic synthetic city (or province) into an empty enterprise register."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable

from django.db import connection, transaction

from yingshang.seeding import org
from yingshang.seeding.generate import SIZES, EnterpriseGenerator, assign_demo_steward

SIZE_LABELS = {"small": "小型(测试用)", "city": "一个城市(演示用)", "province": "全省(性能测试用)"}
# Columns that identify the generated data set (ids and timestamps excluded).
DIGEST_COLUMNS = ("uscc", "name", "legal_form", "status", "region_id", "industry_code", "established_on",
                  "registered_capital", "employees", "operating_revenue", "total_assets", "rd_expense",
                  "tax_credit_rating", "size", "taxable_income", "taxpayer_kind", "legal_representative", "contact_phone", "address")


class SeedRefused(Exception):
    """The database already holds enterprises: seeding would mix synthetic and existing data."""


@dataclass
class SeedResult:
    size: str
    seed: int
    enterprises: int = 0
    certifications: int = 0
    regions: int = 0
    departments: int = 0
    users: list = field(default_factory=list)
    seconds: float = 0.0


def has_enterprises() -> bool:
    """True when the enterprise register is not empty."""
    from yingshang.enterprises.models import Enterprise

    return Enterprise.objects.exists()


def seed(size: str = "city", seed: int = 1, progress: Callable[[str], None] | None = None, *,
         policies: bool = True, appeals: bool = True) -> SeedResult:
    """Write regions, departments, enterprises with certifications and the demo accounts in one
    transaction. Refuses (SeedRefused) when enterprises already exist."""
    from yingshang.enterprises.models import Certification, CreditListing, Enterprise

    if size not in SIZES:
        raise ValueError(f"未知的数据规模“{size}”,可选: {'、'.join(SIZES)}")
    if has_enterprises():
        raise SeedRefused(f"数据库中已有 {Enterprise.objects.count():,} 家企业;演示数据只写入空的企业库,"
                          "请换用新的数据库(删除 YINGSHANG_HOME 下的 yingshang.sqlite3,或新建 PostgreSQL 库)")
    say = progress or (lambda message: None)
    started = time.perf_counter()
    result = SeedResult(size, seed)
    with transaction.atomic():
        _speed_up(connection)
        result.regions, result.departments = org.seed_regions(size), org.seed_departments()
        say(f"区划 {result.regions} 个、单位 {result.departments} 个已写入")
        _write_enterprises(result, size, seed, say, started)
        result.users = org.seed_users(org.demo_enterprise(), size)
        assign_demo_steward()
        _audit(result)
    from yingshang.seeding.writer import BulkWriter

    BulkWriter(connection).analyze(Enterprise, Certification, CreditListing)
    from yingshang.seeding.policies import seed_policies

    # Policy items, their match results and a redemption history; at province size only the library
    # (matching a million enterprises against every item belongs to the benchmark, not to the seed).
    if policies:
        seed_policies(size, seed, match=size != "province", progress=say)
    # 诉求: six months of cases through the real actions (not at province size, like matching above).
    if appeals and size != "province":
        from yingshang.seeding.appeals import seed_appeals

        seed_appeals(size, seed, progress=say)
    result.seconds = time.perf_counter() - started
    say(f"完成: {result.enterprises:,} 家企业、{result.certifications:,} 条资质、{len(result.users)} 个演示账号,"
        f"用时 {result.seconds:.1f} 秒")
    return result


def _write_enterprises(result: SeedResult, size: str, seed: int, say, started: float) -> None:
    from django.db.models import Max

    from yingshang.enterprises.models import Certification, CreditListing, Enterprise
    from yingshang.seeding.writer import BulkWriter

    writer = BulkWriter(connection)
    first_id = (Enterprise.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    generator = EnterpriseGenerator(size, seed, first_id=first_id)
    with writer.indexes_deferred(Enterprise, Certification, CreditListing):
        for chunk in generator.chunks():
            result.enterprises += writer.write(Enterprise, chunk.enterprises)
            result.certifications += writer.write(Certification, chunk.certifications)
            writer.write(CreditListing, chunk.credit_listings)
            say(f"企业 {result.enterprises:,}/{generator.total:,} ({result.enterprises / generator.total:.0%}),"
                f"已用 {time.perf_counter() - started:.1f} 秒")
        if connection.vendor == "postgresql":
            say("正在重建索引和约束…")
    writer.reset_sequences(Enterprise, Certification, CreditListing)


def _speed_up(conn) -> None:
    """Session settings for a bulk load inside the seeding transaction."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("SET LOCAL synchronous_commit = off")
        elif conn.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size = -262144")


def _audit(result: SeedResult) -> None:
    from yingshang.core.audit import record
    from yingshang.core.models import AuditAction

    record("系统", AuditAction.IMPORT, object_type="seeding", object_id=f"{result.size}-{result.seed}",
           object_repr=f"生成演示数据:{SIZE_LABELS[result.size]}",
           changes={"enterprises": result.enterprises, "certifications": result.certifications,
                    "regions": result.regions, "departments": result.departments,
                    "users": [u.username for u in result.users]},
           reason=f"yingshang seed --size {result.size} --seed {result.seed}")


def digest_rows(rows) -> str:
    """SHA-256 over enterprise rows given as tuples in DIGEST_COLUMNS order (sorted by USCC)."""
    h = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r[0]):
        h.update("\x1f".join("" if v is None else str(v) for v in row).encode())
        h.update(b"\x1e")
    return h.hexdigest()


def generated_digest(size: str, seed: int) -> str:
    """Digest of what ``seed(size, seed)`` writes, computed without a database."""
    rows = []
    for chunk in EnterpriseGenerator(size, seed).chunks():
        rows.extend(zip(*(chunk.enterprises[c] for c in DIGEST_COLUMNS)))
    return digest_rows(rows)


def database_digest() -> str:
    """Digest of the enterprises in the database, comparable with ``generated_digest``."""
    from yingshang.enterprises.models import Enterprise

    def plain(value):
        return f"{value:.2f}" if hasattr(value, "quantize") else value.isoformat() if hasattr(value, "isoformat") else value

    rows = Enterprise.objects.values_list(*DIGEST_COLUMNS).iterator(chunk_size=20000)
    return digest_rows(tuple(plain(v) for v in row) for row in rows)
