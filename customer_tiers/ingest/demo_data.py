"""Deterministic demo data: the six source exports of a made-up Chinese beauty retailer.

`write_demo_data` writes customers.csv, orders.csv, products.csv, staff.csv, feedback.csv and
surveys.csv with exactly the columns of the source contract (ingest/sources.py). The same
`customers` and `seed` always give byte-identical files: nothing reads the clock and every random
draw comes from a generator seeded by (seed, stream, chunk).

Purchases follow a BG/NBD ("buy till you die") process: each customer buys at a Gamma-distributed
Poisson rate and, after every purchase, silently drops out with a Beta-distributed probability.
Average order value is lognormal, so revenue is concentrated in the top customers the way real
retail revenue is. Customers are simulated in chunks of CHUNK_CUSTOMERS with numpy and streamed
to CSV through pyarrow, so a million customers (~10M order lines) stays far below 2 GB of memory.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_tiers.ingest.demo_tastes import draw_tastes, line_categories
from customer_tiers.ingest.sources import SOURCES

__all__ = [
    "CHUNK_CUSTOMERS",
    "ENCODINGS",
    "WINDOW_END",
    "WINDOW_START",
    "DemoSummary",
    "write_demo_data",
]

# --- Window and chunking ---------------------------------------------------------------------

WINDOW_START: Final = date(2024, 1, 1)
WINDOW_END: Final = date(2026, 6, 30)  # last day that can carry an order (inclusive)
_DAYS: Final = (WINDOW_END - WINDOW_START).days + 1
_EPOCH: Final = date(1970, 1, 1)
_START_DAY: Final = (WINDOW_START - _EPOCH).days
_START_S: Final = _START_DAY * 86_400
_END_S: Final = _START_S + _DAYS * 86_400  # exclusive

# Fixed, so a customer's data depends only on (seed, customers), not on how the run is driven.
CHUNK_CUSTOMERS: Final = 50_000
ENCODINGS: Final = ("utf-8", "utf-8-sig", "gb18030")

# Independent random streams; chunk k of the customer stream is seeded by (seed, stream, k).
_STREAM_CATALOG: Final = 1
_STREAM_STAFF: Final = 2
_STREAM_CHUNK: Final = 3

# --- Behaviour parameters (tuned for ~10 order lines per customer) -------------------------

_PROSPECT_SHARE: Final = 0.04  # sign up but never buy
_ACQUISITION_BETA: Final = (0.9, 1.6)  # acquisition day / window length; skewed early
_FIRST_ORDER_SAME_DAY: Final = 0.6  # else the first order comes Exp(14 days) after signup
_FIRST_ORDER_DELAY_DAYS: Final = 14.0
_RATE_SHAPE: Final = 0.75  # Gamma shape r of the purchase rate lambda (per day)
_MEAN_GAP_DAYS: Final = 45.0  # 1 / E[lambda]; the median customer buys every ~3 months
_DROPOUT_BETA: Final = (0.8, 4.0)  # p ~ Beta(a, b): drop-out chance after each purchase
_MAX_ORDERS: Final = 300  # guards against absurd rates in the Gamma tail
_AOV_MEDIAN_YUAN: Final = 300.0
_AOV_SIGMA: Final = 0.7  # lognormal sigma of the per-customer average order value
_ORDER_VALUE_SHAPE: Final = 4.0  # Gamma noise of one order around the customer's average
_LINES_P: Final = (0.50, 0.28, 0.14, 0.08)  # 1..4 lines per order
_PROMO_SHARE: Final = 0.4  # orders with a 5-30% discount
_MAX_QUANTITY: Final = 12
_COST_RATIO: Final = (0.40, 0.75)
_COST_MISSING: Final = 0.10
_RETURN_RATE: Final = 0.027  # of purchase lines; some fall past the window end and are dropped
_RETURN_DAYS: Final = 30
_MANAGED_SHARE: Final = 0.85
_CUSTOMERS_PER_MANAGER: Final = 150
_FEEDBACK_SHARE: Final = 0.15
_ANONYMOUS_FEEDBACK: Final = 0.03
_SURVEY_SHARE: Final = 0.25

# --- Reference data ----------------------------------------------------------------------------

STORES: Final = ("S01", "S02", "S03", "S04", "S05", "S06")
# (city, region, home store, weight): customers shop at the nearest of the six stores.
_CITIES: Final = (
    ("上海", "华东", 0, 14), ("苏州", "华东", 0, 4), ("武汉", "华中", 0, 3),
    ("北京", "华北", 1, 13), ("天津", "华北", 1, 4), ("石家庄", "华北", 1, 2),
    ("沈阳", "东北", 1, 2),
    ("广州", "华南", 2, 9), ("佛山", "华南", 2, 3), ("长沙", "华中", 2, 2),
    ("深圳", "华南", 3, 10), ("东莞", "华南", 3, 3),
    ("成都", "西南", 4, 8), ("重庆", "西南", 4, 6), ("昆明", "西南", 4, 2), ("西安", "西北", 4, 2),
    ("杭州", "华东", 5, 8), ("南京", "华东", 5, 4), ("宁波", "华东", 5, 3),
)  # fmt: skip
_CHANNELS: Final = ("store", "online", "wechat", "phone")
_CHANNEL_P: Final = (0.50, 0.25, 0.20, 0.05)
_CHANNEL_LOYALTY: Final = 0.75  # share of orders placed through the customer's usual channel
_HOME_STORE_LOYALTY: Final = 0.85  # share of store orders placed at the home store
_OPEN_HOUR: Final = np.array([10, 8, 8, 9])  # per channel; store 10-22, phone 9-19
_CLOSE_HOUR: Final = np.array([22, 24, 24, 19])

# Surnames with pinyin, most common first (weights fall off with rank).
_SURNAMES: Final = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("欧阳", "ouyang"),
)  # fmt: skip
# Given names: one character from the second list, or first + second.
_GIVEN_FIRST: Final = {
    "F": (("美", "mei"), ("晓", "xiao"), ("雅", "ya"), ("欣", "xin"), ("思", "si"), ("佳", "jia"),
          ("梦", "meng"), ("雨", "yu"), ("静", "jing"), ("诗", "shi")),
    "M": (("浩", "hao"), ("子", "zi"), ("俊", "jun"), ("宇", "yu"), ("志", "zhi"), ("建", "jian"),
          ("文", "wen"), ("明", "ming"), ("天", "tian"), ("嘉", "jia")),
}  # fmt: skip
_GIVEN_SECOND: Final = {
    "F": (("芳", "fang"), ("娜", "na"), ("婷", "ting"), ("琳", "lin"), ("怡", "yi"), ("雪", "xue"),
          ("颖", "ying"), ("慧", "hui"), ("涵", "han"), ("萱", "xuan"), ("敏", "min"),
          ("丽", "li")),
    "M": (("伟", "wei"), ("强", "qiang"), ("杰", "jie"), ("轩", "xuan"), ("磊", "lei"),
          ("涛", "tao"), ("鹏", "peng"), ("博", "bo"), ("辉", "hui"), ("然", "ran"), ("军", "jun"),
          ("勇", "yong")),
}  # fmt: skip
_ENGLISH_FIRST: Final = {
    "F": ("Emma", "Olivia", "Sophia", "Grace", "Chloe", "Lily", "Hannah", "Amy", "Lucy", "Zoe"),
    "M": ("James", "Oliver", "Daniel", "Ethan", "Lucas", "Henry", "Jack", "Ryan", "Leo", "Sam"),
}
_ENGLISH_LAST: Final = (
    "Smith", "Brown", "Wilson", "Taylor", "Clark", "Walker", "Wright", "Green", "Hall", "Lee",
    "Wong", "Chan", "O'Brien", "Martin", "Young",
)  # fmt: skip
_CHINESE_NAME_SHARE: Final = 0.85
_GENDERS: Final = ("F", "M", "other", None)
_GENDER_P: Final = (0.58, 0.38, 0.015, 0.025)
_INCOME_BANDS: Final = ("<5k", "5k-10k", "10k-20k", "20k-50k", "50k+")
_OCCUPATIONS: Final = (
    "白领", "工程师", "教师", "医生", "销售", "自由职业", "企业主", "公务员", "设计师", "护士",
)  # fmt: skip
_MEMBER_LEVELS: Final = ("普通", "银卡", "金卡", "钻石")
_MEMBER_CUTS_YUAN: Final = (2_000.0, 6_000.0, 20_000.0)  # net spend to reach silver/gold/diamond
_PHONE_PREFIXES: Final = (
    130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 158, 159, 166, 176,
    177, 180, 181, 182, 185, 186, 187, 188, 189, 199,
)  # fmt: skip
_EMAIL_DOMAINS: Final = ("163.com", "126.com", "qq.com", "sina.com", "gmail.com", "outlook.com")
_INTERESTS: Final = ("skincare", "haircare", "fitness", "travel", "wine", "tea", "books", "kids")
_INTEREST_P: Final = (0.35, 0.20, 0.22, 0.25, 0.10, 0.20, 0.15, 0.15)

# (category, share of order lines, [(base name, list price in yuan)], [(size label, multiplier)])
_CATEGORIES: Final = (
    ("skincare", 0.32, (
        ("玻尿酸保湿精华", 180), ("Hydrating Serum", 260), ("氨基酸洁面乳", 68),
        ("Vitamin C Brightening Essence", 320), ("修护晚霜", 420), ("Daily Sunscreen SPF50", 150),
        ("舒缓爽肤水", 98), ("Retinol Night Cream", 380), ("紧致眼霜", 360),
        ("Gentle Cleansing Oil", 128), ("Holiday Gift Set, Deluxe", 690),
    ), (("30ml", 1.0), ("50ml", 1.5), ("100ml", 2.6))),
    ("haircare", 0.14, (
        ("控油洗发水", 59), ("Argan Oil Shampoo", 89), ("修护护发素", 69),
        ("Scalp Care Tonic", 158),
        ("深层滋养发膜", 99), ("Heat Protect Spray", 79), ("Curl Defining Cream", 88),
    ), (("250ml", 1.0), ("500ml", 1.7))),
    ("makeup", 0.20, (
        ("丝绒口红", 260), ('Lipstick "Ruby Red"', 290), ("气垫粉底", 380),
        ("Matte Foundation", 420),
        ("十二色眼影盘", 450), ("Waterproof Mascara", 199), ("防水眉笔", 120),
        ("Setting Powder, Translucent", 330),
    ), (("#01", 1.0), ("#02", 1.0), ("#03", 1.0))),
    ("fragrance", 0.10, (
        ("栀子花香水", 480), ("Eau de Parfum Oud", 890), ("Citrus Cologne", 560),
        ("白茶淡香水", 420),
    ), (("30ml", 1.0), ("50ml", 1.5), ("100ml", 2.3))),
    ("wellness", 0.17, (
        ("胶原蛋白饮", 198), ("Vitamin D3 Capsules", 120), ("益生菌粉", 168), ("Sleep Aid Tea", 88),
        ("Omega-3 Fish Oil", 158), ("护手霜礼盒", 128), ("Yoga Mat", 260),
    ), (("30-day", 1.0), ("90-day", 2.6))),
    ("gift_card", 0.07, (("礼品卡", 100),), (("¥100", 1), ("¥200", 2), ("¥500", 5), ("¥1000", 10),
                                              ("¥2000", 20))),
)  # fmt: skip
_GIFT_CARD: Final = len(_CATEGORIES) - 1

_FEEDBACK_CHANNELS: Final = ("store", "wechat", "online", "phone")
_FEEDBACK_CATEGORIES: Final = ("service", "product", "price", "delivery", "staff", "other")
_FEEDBACK_CATEGORY_P: Final = (0.25, 0.30, 0.15, 0.12, 0.10, 0.08)
_TOPICS: Final = {
    "zh": ("服务", "产品", "价格", "配送", "店员", "整体体验"),
    "en": ("service", "product", "prices", "delivery", "staff", "overall experience"),
}
# Sentiment 0 = negative (rating 1-2), 1 = neutral (3), 2 = positive (4-5). Some texts carry
# commas, quotes and a line break on purpose: real exports do, and readers must cope.
_FEEDBACK_TEMPLATES: Final = {
    "zh": (
        ("对{t}很失望，希望尽快改进", "{t}太差了", "投诉：{t}问题一直没有解决"),
        ("{t}一般", "{t}还可以，没有特别惊喜", "{t}中规中矩"),
        ("{t}很好，会再来", "非常满意{t}！", "{t}超出预期，推荐给朋友了"),
    ),
    "en": (
        ("Disappointed with the {t}, please fix it", 'The {t} was "not great", to be honest',
         "Complaint about the {t}.\nStill waiting for an answer."),
        ("The {t} was okay", "Average {t}, nothing special", "{t}: fine"),
        ("Loved the {t}, will come back", "Great {t}!", "Excellent {t}, told my friends"),
    ),
}  # fmt: skip
_SURVEY_COMMENTS: Final = {
    "zh": (
        ("不会再推荐了", "价格太贵，效果一般", "售后太慢"),
        ("还行吧", "希望多一些活动", "产品不错，价格偏高"),
        ("非常喜欢，已经推荐给闺蜜", "会员活动很划算", "店员很专业，服务周到"),
    ),
    "en": (
        ("Would not recommend", "Too expensive, results were average", "Slow after-sales"),
        ("It's fine", "More promotions, please", "Good products, a bit pricey"),
        ("Love it, already told my friends", "Great member deals", 'Staff were "super" helpful'),
    ),
}  # fmt: skip


# --- Public API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    """What `write_demo_data` wrote: data rows per file stem and the span of order dates."""

    rows: dict[str, int]
    first_order_date: date | None
    last_order_date: date | None


def write_demo_data(
    out_dir: Path,
    customers: int = 2000,
    seed: int = 42,
    *,
    encoding: str = "utf-8",
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Write the six demo source files into `out_dir` and return what was written.

    The same `customers` and `seed` give byte-identical files. `encoding` is one of ENCODINGS;
    each file is written whole in it (utf-8-sig adds a BOM). Each file is written under a
    temporary name and renamed when complete, so a reader never sees half a file.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda _line: None)

    catalog = _make_catalog(_rng(seed, _STREAM_CATALOG))
    staff = _make_staff(_rng(seed, _STREAM_STAFF), customers)
    with contextlib.ExitStack() as stack:
        sinks = {
            name: stack.enter_context(_CsvSink(out_dir / f"{name}.csv", name, encoding))
            for name in SOURCES
        }
        sinks["products"].write(catalog.table)
        sinks["staff"].write(staff.table)
        span = _write_customers(seed, customers, catalog, staff, sinks, report)
    rows = {name: sink.rows for name, sink in sinks.items()}
    report(f"done: {rows['customers']:,} customers, {rows['orders']:,} order lines")
    return DemoSummary(rows=rows, first_order_date=span[0], last_order_date=span[1])


def _write_customers(
    seed: int,
    customers: int,
    catalog: _Catalog,
    staff: _Staff,
    sinks: dict[str, _CsvSink],
    report: Callable[[str], None],
) -> tuple[date | None, date | None]:
    """Simulate and append the customer chunks; returns the first and last order date."""
    ids = _IdCounters()
    first_s: int | None = None
    last_s: int | None = None
    for chunk, start in enumerate(range(0, customers, CHUNK_CUSTOMERS)):
        n = min(CHUNK_CUSTOMERS, customers - start)
        tables = _simulate_chunk(_chunk_rngs(seed, chunk), start, n, catalog, staff, ids)
        for name, table in tables.items():
            sinks[name].write(table)
        ordered_at = tables["orders"]["ordered_at"]
        if len(ordered_at):
            lo, hi = (v.value for v in pc.min_max(ordered_at).values())
            first_s = lo if first_s is None else min(first_s, lo)
            last_s = hi if last_s is None else max(last_s, hi)
        report(f"orders: {sinks['orders'].rows:,} lines (customers {start + n:,} / {customers:,})")
    return _to_date(first_s), _to_date(last_s)


# --- Random streams and small helpers ---------------------------------------------------------


def _rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    # SeedSequence hashes the whole key, so chunk k's draws never depend on other chunks.
    return np.random.default_rng([seed, stream, index])


@dataclass(frozen=True)
class _ChunkRngs:
    people: np.random.Generator
    orders: np.random.Generator
    customers: np.random.Generator
    feedback: np.random.Generator
    surveys: np.random.Generator
    tastes: np.random.Generator  # the planted category tastes (demo_tastes.py)


def _chunk_rngs(seed: int, chunk: int) -> _ChunkRngs:
    # One generator per table, so adding a draw to one table leaves the others unchanged
    # (the i-th spawned child is the same however many are spawned).
    seqs = np.random.SeedSequence([seed, _STREAM_CHUNK, chunk]).spawn(6)
    return _ChunkRngs(*(np.random.default_rng(s) for s in seqs))


def _to_date(epoch_s: int | None) -> date | None:
    return None if epoch_s is None else _EPOCH + timedelta(seconds=epoch_s)


def _choice(rng: np.random.Generator, p: Sequence[float], size: int) -> np.ndarray:
    weights = np.asarray(p, dtype=float)
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def _take(values: Sequence[str | None], idx: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(idx))


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return _join(prefix, digits)


def _null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def _money(cents: np.ndarray) -> pa.Array:
    # decimal128 holds the unscaled integer, so cents with scale 2 print exactly ("12.30").
    # Arrow buffers are little-endian: low 64 bits first, then the sign extension.
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [None, pa.py_buffer(words)])


def _timestamps(epoch_s: np.ndarray) -> pa.Array:
    return pa.array(epoch_s.astype(np.int64), pa.timestamp("s"))


def _dates(epoch_days: np.ndarray) -> pa.Array:
    return pa.array(epoch_days.astype(np.int32), pa.date32())


def _group_starts(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def _time_of_day(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """Seconds after midnight within the channel's opening hours, busier in the evening."""
    opens = _OPEN_HOUR[channel] * 3600
    span = (_CLOSE_HOUR[channel] - _OPEN_HOUR[channel]) * 3600
    return opens + np.floor(rng.beta(2.2, 1.8, len(channel)) * span).astype(np.int64)


@dataclass
class _IdCounters:
    """The last order, feedback and survey number handed out; ids run on across chunks."""

    orders: int = 0
    feedback: int = 0
    surveys: int = 0


# --- CSV output ----------------------------------------------------------------------------------


class _CsvSink:
    """Streams arrow columns to one CSV file of the contract, quoting only where needed."""

    def __init__(self, path: Path, source: str, encoding: str) -> None:
        self.path = path
        self.rows = 0
        self._columns = SOURCES[source].column_names
        self._encoding = encoding
        self._tmp = path.with_name(f".{path.name}.partial")
        self._fh: BinaryIO = self._tmp.open("wb")
        # Python's utf-8-sig codec prepends a BOM on every encode(), so only the header uses it.
        self._fh.write((",".join(self._columns) + "\n").encode(encoding))

    def __enter__(self) -> _CsvSink:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._fh.close()
        if exc_type is None:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    def write(self, table: dict[str, pa.Array]) -> None:
        if list(table) != self._columns:
            raise ValueError(f"{self.path.name}: columns {list(table)} != {self._columns}")
        n = len(table[self._columns[0]])
        if n == 0:
            return
        fields = [_csv_field(table[c]) for c in self._columns]
        lines = _join(pc.binary_join_element_wise(*fields, ","), "\n")
        data = _string_bytes(lines)
        if self._encoding == "gb18030":
            data = memoryview(bytes(data).decode("utf-8").encode("gb18030"))
        self._fh.write(data)
        self.rows += n


def _csv_field(values: pa.Array) -> pa.Array:
    """Render one column as CSV fields: RFC 4180 quotes where needed, nulls as empty fields."""
    text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
    if pa.types.is_string(values.type):
        needs_quotes = pc.match_substring_regex(text, '[",\r\n]')
        quoted = _join('"', pc.replace_substring(text, '"', '""'), '"')
        text = pc.if_else(needs_quotes, quoted, text)
    return pc.fill_null(text, "")


def _string_bytes(values: pa.Array) -> memoryview:
    """The concatenated UTF-8 bytes of a null-free string array, without copying."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    begin, end = offsets[values.offset], offsets[values.offset + len(values)]
    return memoryview(values.buffers()[2])[begin:end]


# --- Products and staff --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalog:
    table: dict[str, pa.Array]
    category: np.ndarray  # category index per product
    price_cents: np.ndarray
    cost_ratio: np.ndarray
    by_category: tuple[np.ndarray, ...]  # product indices per category, cheapest first


def _make_catalog(rng: np.random.Generator) -> _Catalog:
    names: list[str] = []
    category: list[int] = []
    list_price: list[float] = []
    for c, (_name, _share, bases, sizes) in enumerate(_CATEGORIES):
        for (base, price), (size, factor) in itertools.product(bases, sizes):
            names.append(f"{base} {size}")
            category.append(c)
            list_price.append(price * factor)
    cat = np.array(category)
    jitter = np.where(cat == _GIFT_CARD, 1.0, rng.uniform(0.9, 1.1, len(names)))
    # Shelf prices end in 9 (¥179, ¥259); gift cards keep their face value.
    yuan = np.where(
        cat == _GIFT_CARD, list_price, np.rint(np.array(list_price) * jitter / 10) * 10 - 1
    )
    price_cents = (yuan * 100).astype(np.int64)
    ratio = rng.uniform(*_COST_RATIO, len(names))
    unit_cost = np.rint(price_cents * ratio).astype(np.int64)
    table = {
        "product_id": _ids("P", np.arange(1, len(names) + 1), 4),
        "name": pa.array(names, pa.string()),
        "category": _take([c[0] for c in _CATEGORIES], cat),
        "unit_cost": _money(unit_cost),
    }
    by_category = tuple(
        np.flatnonzero(cat == c)[np.argsort(price_cents[cat == c], kind="stable")]
        for c in range(len(_CATEGORIES))
    )
    return _Catalog(table, cat, price_cents, ratio, by_category)


@dataclass(frozen=True)
class _Staff:
    table: dict[str, pa.Array]
    ids: pa.Array
    by_store: tuple[np.ndarray, ...]  # staff indices per store; may be empty for small runs


def _store_weights() -> np.ndarray:
    weights = np.zeros(len(STORES))
    for _city, _region, store, weight in _CITIES:
        weights[store] += weight
    return weights / weights.sum()


def _make_staff(rng: np.random.Generator, customers: int) -> _Staff:
    n = max(3, -(-customers // _CUSTOMERS_PER_MANAGER))
    # Spread managers over stores in proportion to each store's customers.
    cum = np.cumsum(_store_weights())
    store = np.minimum(np.searchsorted(cum, (np.arange(n) + 0.5) / n), len(STORES) - 1)
    # Mean capacity ~190 against ~128 managed customers each: comfortable in total.
    capacity = rng.integers(140, 241, n)
    active = np.ones(n, dtype=bool)
    active[rng.choice(n, size=1 if n < 20 else 2, replace=False)] = False
    ids = _ids("E", np.arange(1, n + 1), max(4, len(str(n))))
    names, _pinyin = _chinese_names(rng, rng.integers(0, 2, n))
    table = {
        "staff_id": ids,
        "name": names,
        "store_id": _take(STORES, store),
        "capacity": pa.array(capacity, pa.int64()),
        "active": pa.array(active),
    }
    by_store = tuple(np.flatnonzero(store == s) for s in range(len(STORES)))
    return _Staff(table, ids, by_store)


# --- Names ---------------------------------------------------------------------------------------


def _chinese_names(rng: np.random.Generator, female: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Chinese names and their pinyin; `female` is 1 for a female given name, 0 for male."""
    n = len(female)
    surname = _choice(rng, 1.0 / (np.arange(len(_SURNAMES)) + 3.0), n)  # common ones first
    one_char = rng.random(n) < 0.4
    # Flatten both genders into one list so a single take() serves every row.
    first = [*_GIVEN_FIRST["M"], *_GIVEN_FIRST["F"]]
    second = [*_GIVEN_SECOND["M"], *_GIVEN_SECOND["F"]]
    f_idx = rng.integers(0, len(_GIVEN_FIRST["M"]), n) + female * len(_GIVEN_FIRST["M"])
    s_idx = rng.integers(0, len(_GIVEN_SECOND["M"]), n) + female * len(_GIVEN_SECOND["M"])

    def spell(column: int) -> pa.Array:
        lead = pc.if_else(pa.array(one_char), "", _take([x[column] for x in first], f_idx))
        return _join(
            _take([x[column] for x in _SURNAMES], surname),
            lead,
            _take([x[column] for x in second], s_idx),
        )

    return spell(0), spell(1)


def _english_names(rng: np.random.Generator, female: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """English names and an email handle such as "emma.obrien"."""
    n = len(female)
    per_gender = len(_ENGLISH_FIRST["M"])
    first = _take(
        [*_ENGLISH_FIRST["M"], *_ENGLISH_FIRST["F"]],
        rng.integers(0, per_gender, n) + female * per_gender,
    )
    last = _take(_ENGLISH_LAST, rng.integers(0, len(_ENGLISH_LAST), n))
    handle = pc.replace_substring(pc.utf8_lower(_join(first, ".", last)), "'", "")
    return pc.binary_join_element_wise(first, last, " "), handle


# --- One chunk of customers ----------------------------------------------------------------------


def _simulate_chunk(
    rngs: _ChunkRngs, start: int, n: int, catalog: _Catalog, staff: _Staff, ids: _IdCounters
) -> dict[str, dict[str, pa.Array]]:
    """All rows that belong to customers start+1 .. start+n."""
    people = _draw_people(rngs.people, n, first_number=start + 1)
    orders = _simulate_orders(rngs.orders, people, catalog, ids, rngs.tastes)
    return {
        "customers": _customer_table(rngs.customers, people, orders, staff),
        "orders": orders.table,
        "feedback": _feedback_table(rngs.feedback, people, orders, ids),
        "surveys": _survey_table(rngs.surveys, people, orders, ids),
    }


@dataclass(frozen=True)
class _People:
    """Per-customer behaviour parameters (numpy arrays of the chunk's length)."""

    first_number: int  # customer number of the chunk's first row
    signup_day: np.ndarray  # days since WINDOW_START
    first_order: np.ndarray  # fractional days since WINDOW_START
    rate: np.ndarray  # purchases per day while alive
    purchases_before_dropout: np.ndarray  # geometric(p): drops out right after this many
    buyer: np.ndarray
    aov_yuan: np.ndarray
    home_store: np.ndarray
    channel: np.ndarray  # usual channel
    city: np.ndarray

    def ids(self, local: np.ndarray) -> pa.Array:
        return _ids("C", self.first_number + local, 7)


def _draw_people(rng: np.random.Generator, n: int, first_number: int) -> _People:
    acquired = _DAYS * rng.beta(*_ACQUISITION_BETA, n)
    delay = np.where(
        rng.random(n) < _FIRST_ORDER_SAME_DAY, 0.0, rng.exponential(_FIRST_ORDER_DELAY_DAYS, n)
    )
    city = _choice(rng, [c[3] for c in _CITIES], n)
    return _People(
        first_number=first_number,
        signup_day=np.floor(acquired).astype(np.int64),
        first_order=np.minimum(acquired + delay, np.nextafter(_DAYS, 0)),
        rate=rng.gamma(_RATE_SHAPE, 1.0 / (_RATE_SHAPE * _MEAN_GAP_DAYS), n),
        purchases_before_dropout=rng.geometric(rng.beta(*_DROPOUT_BETA, n)),
        buyer=rng.random(n) >= _PROSPECT_SHARE,
        aov_yuan=rng.lognormal(np.log(_AOV_MEDIAN_YUAN), _AOV_SIGMA, n),
        home_store=np.array([c[2] for c in _CITIES])[city],
        channel=_choice(rng, _CHANNEL_P, n),
        city=city,
    )


# --- Orders --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Orders:
    """Purchase orders (returns excluded), customer-major and in time order, plus stats."""

    count: np.ndarray  # per customer
    start: np.ndarray  # per customer: index of the first order
    customer: np.ndarray  # per order
    epoch_s: np.ndarray  # per order
    alive: np.ndarray  # per customer: has not dropped out by the window end
    net_yuan: np.ndarray  # per customer, after returns
    table: dict[str, pa.Array]  # the order lines as written, returns included


def _order_days(rng: np.random.Generator, people: _People) -> tuple[np.ndarray, np.ndarray]:
    """BG/NBD purchase counts per customer and purchase times (fractional days), grouped.

    While alive a customer buys as a Poisson process, so given N events in the remaining window
    the times are N sorted uniforms, and dropout keeps the first K-1 of them. The first k of N
    sorted uniforms are S_j / (S_k + Gamma(N + 1 - k)), S the running sum of Exp(1) draws: this
    needs draws only for the purchases kept, however large N is.
    """
    remaining = _DAYS - people.first_order
    events = rng.poisson(people.rate * remaining)
    count = np.minimum(np.minimum(people.purchases_before_dropout, events + 1), _MAX_ORDERS)
    count = np.where(people.buyer, count, 0)
    start, buyers = _group_starts(count), count > 0
    gaps = rng.exponential(size=int(count.sum()))
    gaps[start[buyers]] = 0.0  # the first purchase is at first_order itself
    running = np.cumsum(gaps)
    base = np.zeros(len(count))
    base[buyers] = running[start[buyers]]
    running -= np.repeat(base, count)
    last = np.zeros(len(count))
    last[buyers] = running[start[buyers] + count[buyers] - 1]
    tail = rng.gamma(np.where(buyers, events - count + 2, 1).astype(float))
    fraction = running / np.repeat(last + tail, count)
    return count, np.repeat(people.first_order, count) + fraction * np.repeat(remaining, count)


def _simulate_orders(
    rng: np.random.Generator,
    people: _People,
    catalog: _Catalog,
    ids: _IdCounters,
    taste_rng: np.random.Generator,
) -> _Orders:
    count, days = _order_days(rng, people)
    customer = np.repeat(np.arange(len(count)), count)
    m = len(days)
    usual = rng.random(m) < _CHANNEL_LOYALTY
    channel = np.where(usual, people.channel[customer], _choice(rng, _CHANNEL_P, m))
    away = (channel == 0) & (rng.random(m) >= _HOME_STORE_LOYALTY)
    store = np.where(away, rng.integers(0, len(STORES), m), people.home_store[customer])
    epoch_s = _START_S + np.floor(days).astype(np.int64) * 86_400 + _time_of_day(rng, channel)
    # Two orders on one day get independent clock times; restore time order within a customer.
    resort = np.lexsort((epoch_s, customer))
    epoch_s, channel, store = epoch_s[resort], channel[resort], store[resort]
    value = people.aov_yuan[customer] * rng.gamma(_ORDER_VALUE_SHAPE, 1 / _ORDER_VALUE_SHAPE, m)
    taste = draw_tastes(taste_rng, len(count))[customer]  # per order
    lines = _order_lines(
        rng, value, catalog, lambda order: line_categories(taste_rng, taste[order])
    )
    returns = _returns(rng, lines, epoch_s, channel)
    table, line_customer, cents = _order_table(
        people, customer, epoch_s, channel, store, lines, returns, ids
    )
    net = np.bincount(line_customer, weights=cents, minlength=len(count)) / 100
    alive = people.buyer & (people.purchases_before_dropout > count)
    return _Orders(count, _group_starts(count), customer, epoch_s, alive, net, table)


@dataclass(frozen=True)
class _Lines:
    order: np.ndarray  # purchase-order index per line
    product: np.ndarray
    quantity: np.ndarray
    amount_cents: np.ndarray
    cost_cents: np.ndarray
    cost_missing: np.ndarray


def _order_lines(
    rng: np.random.Generator,
    value_yuan: np.ndarray,
    catalog: _Catalog,
    categories: Callable[[np.ndarray], np.ndarray],
) -> _Lines:
    """Split each order's value over 1-4 lines and pick products priced to match, in the
    categories `categories` gives for the lines' orders."""
    m = len(value_yuan)
    order = np.repeat(np.arange(m), _choice(rng, _LINES_P, m) + 1)
    weight = rng.gamma(2.0, size=len(order))
    share = weight / np.bincount(order, weights=weight, minlength=m)[order]
    line_cents = value_yuan[order] * share * 100
    unit_cents = line_cents / (1 + rng.poisson(0.3, len(order)))
    product = _pick_products(rng, unit_cents, catalog, categories(order))
    price = catalog.price_cents[product]
    quantity = np.clip(np.rint(line_cents / price), 1, _MAX_QUANTITY).astype(np.int64)
    discount = np.where(rng.random(m) < _PROMO_SHARE, rng.uniform(0.70, 0.95, m), 1.0)[order]
    discount[catalog.category[product] == _GIFT_CARD] = 1.0  # gift cards sell at face value
    amount = np.rint(quantity * price * discount).astype(np.int64)
    ratio = np.clip(catalog.cost_ratio[product] + rng.normal(0, 0.02, len(order)), *_COST_RATIO)
    cost = np.rint(amount * ratio).astype(np.int64)
    missing = rng.random(len(order)) < _COST_MISSING
    return _Lines(order, product, quantity, amount, cost, missing)


def _pick_products(
    rng: np.random.Generator, unit_cents: np.ndarray, catalog: _Catalog, category: np.ndarray
) -> np.ndarray:
    """In the given category, the product priced nearest the unit budget."""
    # The draw by popularity the categories came from before the planted tastes, kept so the
    # draws after it (and every other field) stay as they were.
    _choice(rng, [c[1] for c in _CATEGORIES], len(unit_cents))
    jitter = rng.integers(-1, 1, len(unit_cents))  # now and then the next cheaper item
    product = np.empty(len(unit_cents), dtype=np.int64)
    for c, members in enumerate(catalog.by_category):
        rows = np.flatnonzero(category == c)
        pos = np.searchsorted(catalog.price_cents[members], unit_cents[rows]) + jitter[rows]
        product[rows] = members[np.clip(pos, 0, len(members) - 1)]
    return product


@dataclass(frozen=True)
class _Returns:
    line: np.ndarray  # the purchase line each return refers to
    epoch_s: np.ndarray
    quantity: np.ndarray  # positive here; negated on output
    amount_cents: np.ndarray
    cost_cents: np.ndarray


def _returns(
    rng: np.random.Generator, lines: _Lines, order_s: np.ndarray, channel: np.ndarray
) -> _Returns:
    """Part or all of a bought line comes back 1-30 days later through the same channel."""
    picked = np.flatnonzero(rng.random(len(lines.order)) < _RETURN_RATE)
    order = lines.order[picked]
    day = (order_s[order] - _START_S) // 86_400 + rng.integers(1, _RETURN_DAYS + 1, len(picked))
    keep = day < _DAYS  # a return after the window end is not in this export
    picked, order, day = picked[keep], order[keep], day[keep]
    bought = lines.quantity[picked]
    quantity = rng.integers(1, bought + 1)
    # Refund pro rata to the line, so no customer's net revenue can go below zero.
    amount = np.rint(lines.amount_cents[picked] * quantity / bought).astype(np.int64)
    cost = np.rint(lines.cost_cents[picked] * quantity / bought).astype(np.int64)
    epoch_s = _START_S + day * 86_400 + _time_of_day(rng, channel[order])
    return _Returns(picked, epoch_s, quantity, amount, cost)


def _order_table(
    people: _People,
    customer: np.ndarray,
    order_s: np.ndarray,
    channel: np.ndarray,
    store: np.ndarray,
    lines: _Lines,
    returns: _Returns,
    ids: _IdCounters,
) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray]:
    """Purchase and return lines by customer and time; each return is an order of its own.

    Returns the table plus the customer index and signed amount (cents) of each written line.
    """
    n_lines, n_returns = len(lines.order), len(returns.line)
    line = np.concatenate([np.arange(n_lines), returns.line])  # the purchase line behind a row
    order = lines.order[line]
    sign = np.repeat(np.array([1, -1], dtype=np.int64), [n_lines, n_returns])
    key = np.concatenate([lines.order, len(order_s) + np.arange(n_returns)])  # one per order
    epoch_s = np.concatenate([order_s[lines.order], returns.epoch_s])
    rows = np.lexsort((np.arange(len(key)), key, epoch_s, customer[order]))
    line, order, sign, key, epoch_s = line[rows], order[rows], sign[rows], key[rows], epoch_s[rows]
    is_return = sign < 0
    quantity = np.where(is_return, 0, lines.quantity[line])
    amount = np.where(is_return, 0, lines.amount_cents[line])
    cost = np.where(is_return, 0, lines.cost_cents[line])
    back = np.flatnonzero(is_return)
    # Rows of returns appear in `rows` order; map them back to their return record.
    which = rows[back] - n_lines
    quantity[back], amount[back] = -returns.quantity[which], -returns.amount_cents[which]
    cost[back] = -returns.cost_cents[which]
    order_no = ids.orders + np.cumsum(np.r_[True, key[1:] != key[:-1]]) if len(key) else key
    ids.orders = int(order_no[-1]) if len(key) else ids.orders
    cust = customer[order]
    table = {
        "order_id": _ids("O", order_no, 9),
        "customer_id": people.ids(cust),
        "ordered_at": _timestamps(epoch_s),
        "product_id": _ids("P", lines.product[line] + 1, 4),
        "quantity": pa.array(quantity, pa.int64()),
        "amount": _money(amount),
        "cost": _null_where(_money(cost), lines.cost_missing[line]),
        "channel": _take(_CHANNELS, channel[order]),
        "store_id": _take(STORES, store[order]),
    }
    return table, cust, amount


# --- Customers -----------------------------------------------------------------------------------


def _customer_table(
    rng: np.random.Generator, people: _People, orders: _Orders, staff: _Staff
) -> dict[str, pa.Array]:
    n = len(people.buyer)
    gender = _choice(rng, _GENDER_P, n)
    female = np.where(gender < 2, gender == 0, rng.random(n) < 0.5).astype(np.int64)
    name, email = _names_and_emails(rng, female)
    age_years = 20.5 + 54.5 * rng.beta(2.0, 3.0, n)  # 18+ at the window start, <= 75 at its end
    birth = (WINDOW_END - _EPOCH).days - np.floor(age_years * 365.25)
    return {
        "customer_id": people.ids(np.arange(n)),
        "name": name,
        "gender": _take(_GENDERS, gender),
        "birth_date": _null_where(_dates(birth), rng.random(n) < 0.06),
        "city": _take([c[0] for c in _CITIES], people.city),
        "region": _take([c[1] for c in _CITIES], people.city),
        "income_band": _income_bands(rng, people.aov_yuan),
        "occupation": _occupations(rng, age_years),
        "signup_date": _dates(_START_DAY + people.signup_day),
        "member_level": _member_levels(rng, orders.net_yuan),
        "phone": _phones(rng, n),
        "email": email,
        "account_manager_id": _managers(rng, people.home_store, staff),
        "interests": _interests(rng, female),
    }


def _names_and_emails(rng: np.random.Generator, female: np.ndarray) -> tuple[pa.Array, pa.Array]:
    n = len(female)
    chinese = pa.array(rng.random(n) < _CHINESE_NAME_SHARE)
    zh_name, zh_handle = _chinese_names(rng, female)
    en_name, en_handle = _english_names(rng, female)
    name = pc.if_else(chinese, zh_name, en_name)
    number = pc.cast(pa.array(rng.integers(1, 1000, n)), pa.string())
    suffix = pc.if_else(pa.array(rng.random(n) < 0.5), number, "")
    local = _join(pc.if_else(chinese, zh_handle, en_handle), suffix)
    domain = _choice(rng, (0.25, 0.12, 0.30, 0.08, 0.15, 0.10), n)
    # QQ mail addresses are the QQ number.
    qq = pc.cast(pa.array(rng.integers(10_000, 3_000_000_000, n)), pa.string())
    local = pc.if_else(pa.array(domain == _EMAIL_DOMAINS.index("qq.com")), qq, local)
    email = _join(local, "@", _take(_EMAIL_DOMAINS, domain))
    return name, _null_where(email, rng.random(n) < 0.3)


def _income_bands(rng: np.random.Generator, aov_yuan: np.ndarray) -> pa.Array:
    # Loosely tied to spend: big spenders tend to report higher income.
    z = 0.6 * np.log(aov_yuan / _AOV_MEDIAN_YUAN) / _AOV_SIGMA + rng.normal(0, 0.8, len(aov_yuan))
    band = np.searchsorted([-1.0, -0.2, 0.6, 1.4], z)
    return _null_where(_take(_INCOME_BANDS, band), rng.random(len(aov_yuan)) < 0.12)


def _occupations(rng: np.random.Generator, age_years: np.ndarray) -> pa.Array:
    n = len(age_years)
    labels = (*_OCCUPATIONS, "学生", "退休")
    job = rng.integers(0, len(_OCCUPATIONS), n)
    job = np.where((age_years < 24) & (rng.random(n) < 0.6), len(_OCCUPATIONS), job)
    job = np.where((age_years > 60) & (rng.random(n) < 0.6), len(_OCCUPATIONS) + 1, job)
    return _null_where(_take(labels, job), rng.random(n) < 0.10)


def _member_levels(rng: np.random.Generator, net_yuan: np.ndarray) -> pa.Array:
    # The loyalty programme counts points, not net revenue, so the levels only roughly agree.
    points = net_yuan * rng.lognormal(0.0, 0.25, len(net_yuan))
    return _take(_MEMBER_LEVELS, np.searchsorted(_MEMBER_CUTS_YUAN, points, side="right"))


def _phones(rng: np.random.Generator, n: int) -> pa.Array:
    prefix = np.array(_PHONE_PREFIXES, dtype=np.int64)[rng.integers(0, len(_PHONE_PREFIXES), n)]
    number = prefix * 100_000_000 + rng.integers(0, 100_000_000, n)
    return _null_where(pc.cast(pa.array(number), pa.string()), rng.random(n) < 0.04)


def _managers(rng: np.random.Generator, home_store: np.ndarray, staff: _Staff) -> pa.Array:
    """A manager from the customer's home store (any store when it has none) for most."""
    n = len(home_store)
    pick = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    everyone = np.arange(len(staff.ids))
    for store, members in enumerate(staff.by_store):
        pool = members if len(members) else everyone
        rows = np.flatnonzero(home_store == store)
        pick[rows] = pool[(u[rows] * len(pool)).astype(np.int64)]
    return _null_where(staff.ids.take(pa.array(pick)), rng.random(n) >= _MANAGED_SHARE)


def _interests(rng: np.random.Generator, female: np.ndarray) -> pa.Array:
    p = np.array(_INTEREST_P)
    p = np.where(female[:, None] == 1, p * [1.4, 1.2, 1, 1, 0.8, 1, 1.1, 1.1], p)  # mild skew
    mask = (rng.random((len(female), len(_INTERESTS))) < p) @ (1 << np.arange(len(_INTERESTS)))
    combos = [
        ";".join(x for bit, x in enumerate(_INTERESTS) if m >> bit & 1) or None
        for m in range(1 << len(_INTERESTS))
    ]
    return _take(combos, mask)


# --- Feedback and surveys ------------------------------------------------------------------------


def _loyalty(orders: _Orders) -> np.ndarray:
    """Per customer: frequent buyers who are still around score high, lapsed ones low."""
    frequency = (np.log1p(orders.count) - 1.6) / 0.8
    return 0.8 * frequency + np.where(orders.alive, 0.4, -0.4)


def _flat_texts(
    templates: dict[str, tuple[tuple[str, ...], ...]], topics: dict[str, tuple[str, ...]]
) -> list[str]:
    """Every (language, topic, mood, variant) text, in that nesting order; 3 moods x 3 variants."""
    return [
        text.format(t=topic)
        for lang, lang_topics in topics.items()
        for topic in lang_topics
        for variants in templates[lang]
        for text in variants
    ]


_FEEDBACK_TEXTS: Final = _flat_texts(_FEEDBACK_TEMPLATES, _TOPICS)
_COMMENT_TEXTS: Final = _flat_texts(_SURVEY_COMMENTS, {"zh": ("",), "en": ("",)})


def _text_index(
    rng: np.random.Generator, topic: np.ndarray, n_topics: int, mood: np.ndarray
) -> np.ndarray:
    """Index into a _flat_texts list: English for 30%, one of three variants at random."""
    english = (rng.random(len(mood)) < 0.3).astype(np.int64)
    return ((english * n_topics + topic) * 3 + mood) * 3 + rng.integers(0, 3, len(mood))


def _feedback_table(
    rng: np.random.Generator, people: _People, orders: _Orders, ids: _IdCounters
) -> dict[str, pa.Array]:
    n = len(orders.count)
    givers = (orders.count > 0) & (rng.random(n) < _FEEDBACK_SHARE)
    cust = np.repeat(np.arange(n), np.where(givers, rng.geometric(0.65, n), 0))
    k = len(cust)
    # Feedback follows one of the customer's orders by up to a week.
    anchor = orders.start[cust] + (rng.random(k) * orders.count[cust]).astype(np.int64)
    created = np.minimum(orders.epoch_s[anchor] + rng.integers(600, 7 * 86_400, k), _END_S - 1)
    score = _loyalty(orders)[cust] + rng.normal(0, 0.8, k)
    rating = 1 + np.searchsorted([-1.6, -0.9, -0.2, 0.8], score)
    mood = np.array([0, 0, 1, 2, 2])[rating - 1]
    topic = _choice(rng, _FEEDBACK_CATEGORY_P, k)
    idx = _text_index(rng, topic, len(_FEEDBACK_CATEGORIES), mood)
    rows = np.argsort(created, kind="stable")
    numbers = ids.feedback + 1 + np.arange(k)
    ids.feedback += k
    return {
        "feedback_id": _ids("F", numbers, 8),
        "customer_id": _null_where(people.ids(cust[rows]), rng.random(k) < _ANONYMOUS_FEEDBACK),
        "created_at": _timestamps(created[rows]),
        "channel": _take(_FEEDBACK_CHANNELS, _choice(rng, (0.4, 0.3, 0.2, 0.1), k)),
        "category": _take(_FEEDBACK_CATEGORIES, topic[rows]),
        "rating": pa.array(rating[rows], pa.int64()),
        "text": _null_where(_take(_FEEDBACK_TEXTS, idx[rows]), rng.random(k) < 0.05),
    }


def _survey_table(
    rng: np.random.Generator, people: _People, orders: _Orders, ids: _IdCounters
) -> dict[str, pa.Array]:
    n = len(orders.count)
    takers = (orders.count > 0) & (rng.random(n) < _SURVEY_SHARE)
    cust = np.repeat(np.arange(n), np.where(takers, _choice(rng, (0.6, 0.28, 0.12), n) + 1, 0))
    k = len(cust)
    first_s = orders.epoch_s[orders.start[cust]]
    wait = np.floor(rng.random(k) * np.maximum(_END_S - 3600 - first_s, 1)).astype(np.int64)
    responded = np.minimum(first_s + 3600 + wait, _END_S - 1)
    so_far, recency_days = _history_at(orders, cust, responded)
    nps = _nps(rng, so_far, recency_days, rng.normal(0, 0.6, n)[cust])
    rows = np.argsort(responded, kind="stable")
    numbers = ids.surveys + 1 + np.arange(k)
    ids.surveys += k
    nps = nps[rows]
    csat = np.clip(np.rint(1 + 0.4 * nps + rng.normal(0, 0.45, k)), 1, 5).astype(np.int64)
    intent = np.clip(np.rint(8.5 * nps + 10 + rng.normal(0, 7, k)), 0, 100)
    group = np.searchsorted([6.5, 8.5], nps)  # detractor, passive, promoter
    idx = _text_index(rng, np.zeros(k, np.int64), 1, group)
    return {
        "response_id": _ids("S", numbers, 8),
        "customer_id": people.ids(cust[rows]),
        "responded_at": _timestamps(responded[rows]),
        "nps_score": pa.array(nps, pa.int64()),
        "csat_score": pa.array(csat, pa.int64()),
        "repurchase_intent": pa.array(intent.astype(np.int64), pa.int64()),
        "recommend": _recommend(rng, group),
        "comment": _null_where(_take(_COMMENT_TEXTS, idx), rng.random(k) < 0.5),
    }


def _history_at(
    orders: _Orders, cust: np.ndarray, at_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Purchases made so far and days since the latest one, at each (customer, time)."""
    span = _END_S - _START_S + 1
    # Orders are customer-major and time-sorted, so this composite key is ascending.
    key = orders.customer * span + (orders.epoch_s - _START_S)
    latest = np.searchsorted(key, cust * span + (at_s - _START_S), side="right") - 1
    return latest - orders.start[cust] + 1, (at_s - orders.epoch_s[latest]) / 86_400


def _nps(
    rng: np.random.Generator, so_far: np.ndarray, recency_days: np.ndarray, person: np.ndarray
) -> np.ndarray:
    """0-10: frequent, recent buyers mostly promoters; lapsed ones more often detractors."""
    frequency = (np.log1p(so_far) - 1.2) / 0.8
    lapse = np.minimum(recency_days / 180, 2.5)  # half-years since the latest purchase
    satisfaction = 0.8 * frequency - 0.75 * lapse + person + rng.normal(0, 0.6, len(so_far))
    return np.clip(np.rint(8.4 + 1.4 * satisfaction), 0, 10).astype(np.int64)


def _recommend(rng: np.random.Generator, group: np.ndarray) -> pa.Array:
    # Mostly what the score implies, with some people answering against type.
    u = rng.random(len(group))
    answer = np.select(
        [group == 2, group == 1],
        [np.where(u < 0.9, 0, 1), np.where(u < 0.2, 0, np.where(u < 0.9, 1, 2))],
        np.where(u < 0.75, 2, 1),
    )
    return _take(("yes", "maybe", "no"), answer)
