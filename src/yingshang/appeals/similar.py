"""Likely duplicates of a new enterprise appeal among recent open cases (Django-free: jieba + numpy).

An appeal's text is cut with jieba (search mode) after personal numbers are stripped, weighted by
TF-IDF (sublinear tf, smoothed idf; the title counts twice) and L2-normalised. ``SimilarIndex`` keeps,
for every token, the candidates that contain it (postings as numpy arrays), so a new case is scored
only against the candidates sharing one of its tokens: one ``bincount`` over those postings gives
every cosine at once. The text score is then raised when the candidate comes from the same
enterprise (strong), the same county or the same category, combined as independent evidence
(``1 - (1 - text)(1 - boost)…``) so the score stays in [0, 1] and a same-enterprise case on another
topic still surfaces (with "同一企业") while strangers need real textual overlap.

The index is built once from the open cases (the caller decides what "recent" means and rebuilds or
caches it); ``suggest`` is read-only and thread-safe.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, NamedTuple

import numpy as np

from yingshang.core.chinese import jieba_with

# Words jieba's stock dictionary splits apart (or misses) but an appeal uses as one term.
DOMAIN_WORDS = (
    "营商环境", "拖欠账款", "拖欠", "账款", "欠款", "货款", "工程款", "进度款", "尾款", "质保金", "保证金",
    "政策兑现", "惠企政策", "用电", "用水", "用气", "用地", "用工", "融资", "贷款", "担保", "电力增容",
    "停电", "限电", "停水", "执法", "乱罚款", "涉企检查", "公平竞争", "招投标", "政府采购", "知识产权",
    "专利", "商标", "侵权", "12345", "退税", "留抵退税", "审批", "办证", "营业执照", "不动产权证",
    "施工许可证", "环评", "消防验收", "社保", "招工", "信用修复",
)
# Function words and the phrases nearly every appeal contains: they would make all appeals alike.
STOPWORDS = frozenset("""
的 了 和 与 及 或 等 在 对 为 是 有 按 于 之 以 其 中 上 下 个 年 月 日 号 请 我 要 吗 呢 啊 吧 也 都 就 还 又
被 把 给 向 从 到 由 这 那 该 此 并 但 而 且 已 将 能 会 可 不 没 无 很 非常 一直 已经 目前 现在 至今 仍然
我们 你们 他们 贵 本 公司 企业 我司 本公司 有限 有限公司 有限责任 责任 反映 问题 情况 希望 恳请 请求
帮助 帮忙 协调 解决 处理 相关 部门 政府 领导 关于 事宜 事项 一下 多次 没有 沒有 联系 电话 手机 联系人
谢谢 感谢 您好 你好 联系电话 联系方式 身份 身份证 身份证号 邮箱 卡号 银行卡 号码
座机 联系人 负责人 经理 总经理 先生 女士
""".split())
# Numbers that identify a person or a record, not a topic (see DOMAIN.md §4): stripped before cutting,
# so two unrelated appeals left by the same agent's phone do not look alike.
_A, _Z = r"(?<![0-9a-z])", r"(?![0-9a-z])"
PERSONAL_NUMBERS = re.compile("|".join((
    r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}",                     # e-mail
    _A + r"[0-9a-hj-npqrtuwxy]{2}\d{6}[0-9a-hj-npqrtuwxy]{10}" + _Z,  # 统一社会信用代码
    _A + r"\d{17}[\dx]" + _Z,                                       # 身份证
    _A + r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}" + _Z,         # mobile
    _A + r"0\d{2,3}[- ]?\d{7,8}(?:-\d{1,5})?" + _Z,                   # landline (with extension)
    _A + r"\d[\d -]{5,}\d" + _Z + r"(?!\s*(?:[元万亿]|\.\d))",         # bank cards, order numbers (not amounts)
)))
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
DEFAULT_LIMIT, DEFAULT_MIN_SCORE = 5, 0.35
# Boosts, each read as "probability this alone makes it a duplicate"; the same enterprise alone
# (0.40) passes the default threshold, the same county and category together (≈0.10) do not.
BOOST_ENTERPRISE, BOOST_COUNTY, BOOST_CATEGORY = 0.40, 0.05, 0.05
TITLE_WEIGHT = 2

def _tokenizer():
    """jieba with this module's domain words (loaded once, quietly: core.chinese)."""
    return jieba_with(DOMAIN_WORDS)


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), lower case, thousands separators and personal numbers removed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _THOUSANDS.sub("", text)
    return PERSONAL_NUMBERS.sub(" ", text)


def _meaningful(token: str) -> bool:
    # One character (Chinese or digit) says nothing on its own; punctuation never does.
    return len(token) > 1 and token not in STOPWORDS and any(ch.isalnum() for ch in token)


def tokens(text: str) -> list[str]:
    """The search-mode tokens of ``text`` that can show two appeals are about the same thing (repeats kept)."""
    jieba = _tokenizer()
    return [t for t in (raw.strip() for raw in jieba.cut_for_search(normalise(text))) if _meaningful(t)]


def county_of(region_code: str | None) -> str | None:
    """The 6-digit county code of a region code, or None for a city/province-level or missing code."""
    code = (region_code or "").strip()
    if len(code) < 6 or not code[:6].isdigit() or code[4:6] == "00":
        return None
    return code[:6]


class Candidate(NamedTuple):
    """An open case as the index sees it; ``case_id`` may be None for a case not saved yet."""

    case_id: object
    enterprise_id: int | None
    region_code: str | None
    category: str | None
    title: str
    content: str
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class Suggestion:
    """A likely duplicate: combined score, the text-only cosine, and the reasons in Chinese."""

    case_id: object
    score: float
    reasons: tuple[str, ...]
    text_score: float = 0.0


def _term_counts(title: str, content: str) -> Counter:
    counts = Counter(tokens(content))
    for token in tokens(title):
        counts[token] += TITLE_WEIGHT
    return counts


def _sublinear(tf: int) -> float:
    return 1.0 + math.log(tf)


def _timestamp(value) -> float:
    if value is None:
        return float("-inf")
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()).timestamp()
    return float(value)


class _Codes:
    """Maps values (enterprise ids, county codes, categories) to small ints for vectorised equality."""

    def __init__(self) -> None:
        self._codes: dict[object, int] = {}

    def code(self, value) -> int:
        if value is None or value == "":
            return -1
        return self._codes.setdefault(value, len(self._codes))

    def lookup(self, value) -> int:
        if value is None or value == "":
            return -2  # never equal to a stored code, not even -1 (missing never matches missing)
        return self._codes.get(value, -2)


class SimilarIndex:
    """TF-IDF index over open cases with an inverted index token → (candidate rows, weights)."""

    def __init__(self, candidates: Iterable[Candidate | tuple]) -> None:
        rows = {}
        for raw in candidates:  # a case listed twice keeps its last version
            cand = Candidate(*raw)
            rows[cand.case_id] = cand
        self._cands = list(rows.values())
        self._row_of = {c.case_id: i for i, c in enumerate(self._cands)}
        self._build_attributes()
        self._build_postings([_term_counts(c.title, c.content) for c in self._cands])

    def __len__(self) -> int:
        return len(self._cands)

    def _build_attributes(self) -> None:
        self._enterprises, self._counties, self._categories = _Codes(), _Codes(), _Codes()
        self._ent = np.array([self._enterprises.code(c.enterprise_id) for c in self._cands], dtype=np.int64)
        self._cty = np.array([self._counties.code(county_of(c.region_code)) for c in self._cands], dtype=np.int64)
        self._cat = np.array([self._categories.code(c.category) for c in self._cands], dtype=np.int64)
        # Ties are broken newest first, then by case id: the same input gives the same order however listed.
        order = sorted(range(len(self._cands)),
                       key=lambda i: (-_timestamp(self._cands[i].created_at), str(self._cands[i].case_id)))
        self._tiebreak = np.empty(len(self._cands), dtype=np.int64)
        self._tiebreak[order] = np.arange(len(self._cands))

    def _build_postings(self, docs: list[Counter]) -> None:
        n = len(docs)
        df = Counter(token for doc in docs for token in doc)
        self._idf = {t: math.log((1 + n) / (1 + d)) + 1.0 for t, d in df.items()}
        self._idf_unseen = math.log(1 + n) + 1.0
        rows: dict[str, list[int]] = {t: [] for t in df}
        weights: dict[str, list[float]] = {t: [] for t in df}
        for i, doc in enumerate(docs):
            vec = {t: _sublinear(tf) * self._idf[t] for t, tf in doc.items()}
            norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
            for t, w in vec.items():
                rows[t].append(i)
                weights[t].append(w / norm)
        self._postings = {t: (np.array(rows[t], dtype=np.int64), np.array(weights[t], dtype=np.float64))
                          for t in df}

    def _query_vector(self, title: str, content: str) -> dict[str, float]:
        counts = _term_counts(title, content)
        vec = {t: _sublinear(tf) * self._idf.get(t, self._idf_unseen) for t, tf in counts.items()}
        norm = math.sqrt(sum(w * w for w in vec.values()))
        return {t: w / norm for t, w in vec.items()} if norm else {}

    def text_scores(self, title: str, content: str) -> np.ndarray:
        """Cosine similarity of this text to every candidate (zeros where no token is shared)."""
        n = len(self._cands)
        parts = [(self._postings[t], w) for t, w in self._query_vector(title, content).items()
                 if t in self._postings]
        if not parts or not n:
            return np.zeros(n)
        idx = np.concatenate([p[0] for p, _ in parts])
        wts = np.concatenate([p[1] * w for p, w in parts])
        return np.minimum(np.bincount(idx, weights=wts, minlength=n), 1.0)

    def suggest(self, new_case: Candidate | tuple, limit: int = DEFAULT_LIMIT,
                min_score: float = DEFAULT_MIN_SCORE) -> list[Suggestion]:
        """The candidates most likely to be duplicates of ``new_case``, best first (never the case itself)."""
        case = Candidate(*new_case)
        if not self._cands or limit <= 0:
            return []
        text = self.text_scores(case.title, case.content)
        same_ent = self._ent == self._enterprises.lookup(case.enterprise_id)
        same_cty = self._cty == self._counties.lookup(county_of(case.region_code))
        same_cat = self._cat == self._categories.lookup(case.category)
        keep = (1.0 - text) * (1.0 - BOOST_ENTERPRISE * same_ent) * (1.0 - BOOST_COUNTY * same_cty) \
            * (1.0 - BOOST_CATEGORY * same_cat)
        score = np.round(1.0 - keep, 6)  # rounding keeps tie order stable under float noise
        hit = score >= min_score - 1e-9
        own = self._row_of.get(case.case_id) if case.case_id is not None else None
        if own is not None:
            hit[own] = False
        rows = np.flatnonzero(hit)
        rows = rows[np.lexsort((self._tiebreak[rows], -score[rows]))][:limit]
        return [self._suggestion(i, score[i], text[i], same_ent[i], same_cty[i], same_cat[i]) for i in rows]

    def _suggestion(self, i, score, text, ent, cty, cat) -> Suggestion:
        reasons = [label for flag, label in ((ent, "同一企业"), (cty, "同一区县"), (cat, "同类诉求")) if flag]
        reasons.append(f"内容相似 {text:.0%}")
        return Suggestion(self._cands[i].case_id, round(float(score), 4), tuple(reasons), round(float(text), 4))


def suggest(new_case: Candidate | tuple, candidates: Iterable[Candidate | tuple], limit: int = DEFAULT_LIMIT,
            min_score: float = DEFAULT_MIN_SCORE) -> list[Suggestion]:
    """One-off convenience: build an index over ``candidates`` and suggest for ``new_case``."""
    return SimilarIndex(candidates).suggest(new_case, limit=limit, min_score=min_score)
