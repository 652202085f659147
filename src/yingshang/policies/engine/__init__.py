"""The eligibility engine: a rule language, a row evaluator with explanations, a columnar matcher, amounts.

Plain Python over NumPy, free of Django (``policies/engine_db.py`` loads the register from the
database). Modules:

- ``compiled``  the compiled form shared by both evaluators (Atom, Node, CompiledRule, Truth, Status);
- ``rules``     the JSON rule language: checking (precise Chinese messages), parameters with effective
                dates, compiling for an evaluation date, Chinese sentences, the field catalogue;
- ``row``       one enterprise (a ``facts`` dict) against compiled rules, with a per-condition explanation;
- ``register``  the columnar register (NumPy arrays, null masks, dictionaries, tag/certificate/credit data);
- ``columnar``  all enterprises against many items: each distinct atom evaluated once, packed bitmaps;
- ``amounts``   amount formulas (Decimal, floors and caps);
- ``store``     compact storage of id sets (sorted, delta-encoded, compressed).

The rule language (stored as JSON on PolicyItem.rule)
-----------------------------------------------------
    rule      := {} (no condition: every enterprise in the document's region)
               | group | condition
    group     := {"all": [rule, …]} | {"any": [rule, …]} | {"not": rule}      (lists never empty)
    condition := {"field": F, "op": OP, "value": V}
               | {"field": F, "op": OP, "param": "参数名"}                     (value from PolicyItem.params)

Fields (see ``rules.FIELDS`` for labels and units):
    employees                   从业人员(人)                 number
    registered_capital, operating_revenue, total_assets, rd_expense, taxable_income   (万元)   number
    rd_ratio                    研发费用占营业收入比例          number, a fraction (0.03 = 3 %)
    age_years                   成立年限(周岁, on the evaluation date)   integer
    established_on              成立日期                       date "YYYY-MM-DD"
    size                        企业规模 large|medium|small|micro
    tax_credit_rating           纳税信用等级 A|B|M|C|D
    taxpayer_kind               纳税人类型 general|small_scale
    legal_form                  组织形式 (LegalForm codes)
    region                      所在区划: GB/T 2260 code prefixes, descendants included
    industry                    行业: GB/T 4754 section letter, division (2), group (3) or class (4), descendants included
    tag                         企业标签 (Tag codes)
    certification               资质 (CertificationKind codes), held and valid on the evaluation date
    serious_dishonest           列入严重失信主体名单 (in force on the evaluation date)   true|false
    abnormal_operation          列入经营异常名录 (in force on the evaluation date)       true|false

Operators:
    numbers, dates:     >= <= > < == != , "between" with [low, high] (both inclusive)
    choices (size, tax_credit_rating, taxpayer_kind, legal_form): == != in not_in (in/not_in take a list)
    region, industry:   in not_in (a list of codes)
    tag, certification: has not_has (one code), in (holds any of a list), not_in (holds none of a list)
    flags:              == (true or false)

Parameters: ``{"名称": [{"from": null, "value": V0}, {"from": "2027-01-01", "value": V1}, …]}``; entries
sorted by ``from``, the first has ``from: null``; on an evaluation date the last entry with
``from`` ≤ date applies. A condition with ``"param"`` takes that value.

Three-valued logic (Kleene): a condition on a missing figure is UNKNOWN, never false (``!=`` and
``not`` included). Missing: a null number/date, a blank choice, rd_ratio when R&D expense or revenue is
missing or revenue is 0, age_years when established_on is missing. Region, industry, tags,
certifications and credit lists are never unknown (absence is a fact). Enterprises that are not 存续
(status active) are never candidates.

Item status of an enterprise:
    eligible   the rule is TRUE
    unknown    the rule is UNKNOWN (undecidable: the figures to supply are named)
    near_miss  the rule is FALSE and making exactly one FALSE condition true would make it TRUE, with no
               UNKNOWN involved. Per node: an atom that is FALSE is "one away"; all(...) is one away when
               exactly one child is one away and the others are TRUE; any(...) is one away when no child
               is TRUE or UNKNOWN and some child is one away; not(...) is pushed down to the atoms.
    ineligible otherwise

Precise points (the reference semantics of every operator, boundaries included, are in ``row.py``):
- Values: numbers are JSON numbers (finite, at most 15 significant digits so that the columnar matcher's
  float64 comparisons agree exactly with Decimal ones); rd_ratio values are fractions in [0, 1];
  age_years values are integers; dates are "YYYY-MM-DD"; region codes 2–12 digits; industry codes a
  section letter A–T or 2–4 digits under a division 01–97.
- Positions (messages and explanations, "条件 2.1"): the children of the root group are 1, 2, …; child i of
  the node at p is p.i; the single child of ``not`` is p.1; a rule that is one condition is 条件 1.
  Compiled atoms keep the position of their source condition (also when ``not`` was pushed onto them).
- Near-miss gaps: for an all(…) the gaps of its one-away child; for an any(…) the gaps of every one-away
  child (alternatives: fixing any one of them suffices).
"""
