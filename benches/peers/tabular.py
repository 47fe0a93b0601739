"""Deterministic tabular data for the end-to-end comparison (`compare.py --workloads check-e2e`).

A reference of 100 000 rows and a current sample of 10 000 rows, both with the 20 feature columns
below, written as Parquet with pyarrow. Every value comes from `synth.py`'s counter-based
generator (SplitMix64 uniforms; normals are sums of 12 uniforms), so the files do not depend on
numpy's random streams; lognormals and counts also use numpy's `exp` and `log`. Each column and
side has its own seed: reference `SEED_BASE + 2·i`, current `SEED_BASE + 2·i + 1` for column `i`
(and `+ 1000` for its nulls).

| # | column | Parquet type | reference | current (drift in bold) |
|---|---|---|---|---|
| 0 | `age` | int64 | `floor(uniform(18, 80))` | same |
| 1 | `income` | float64 | `exp(normal(10.5, 0.6))` | **`exp(normal(10.6, 0.6))`, scale × 1.105** |
| 2 | `credit_score` | int64 | `round(normal(680, 60))` | same |
| 3 | `balance` | float64, nulls | `normal(5000, 1500)`, 2 % null | same, 5 % null |
| 4 | `utilisation` | float32 | `uniform(0, 1)` | **`uniform(0.05, 1.05)`** |
| 5 | `tenure_months` | int64 | `floor(exponential(36))` | same |
| 6 | `num_accounts` | int64 | `floor(exponential(4))` | **`floor(exponential(5))`** |
| 7 | `latency_ms` | float32 | `exp(normal(3, 0.5))` | same |
| 8 | `temperature` | float64 | `normal(20, 5)` | **`normal(22.5, 5)`** |
| 9 | `pressure` | float64 | `normal(101.3, 1.2)` | same |
| 10 | `ratio` | float64 | `uniform(-1, 1)` | same |
| 11 | `session_s` | float32 | `exp(normal(4, 0.8))` | **`exp(normal(4, 1.0))`** |
| 12 | `clicks` | int64 | `floor(exponential(12))` | same |
| 13 | `score` | float64 | `normal(0, 1)` | **`normal(0.03, 1)`**, a small shift |
| 14 | `region` | string, nulls | 5 categories, 1 % null | same shares, 3 % null |
| 15 | `device` | string | 3 categories (70/20/10 %) | **shares 55/35/10 %** |
| 16 | `plan` | string | 4 categories | same |
| 17 | `country` | dictionary string | 30 categories, Zipf-like shares | same |
| 18 | `channel` | string | 8 categories | **a ninth, `partner`, takes 4 %** |
| 19 | `product` | string | 12 categories | same |

Eight columns drift; `score`'s shift (0.03 standard deviations) is below the default threshold of
Evidently's normed Wasserstein (0.1) and near the edge of what KS detects at these sizes. Integer
columns have more than 10 distinct values, so Evidently's type inference (integers with at most
10 distinct values are categorical) gives the same roles as drifttap's (integers are numeric).

`write(directory)` writes `reference.parquet` and `current.parquet` (one row group each, snappy)
and stores `RECIPE` in the files' key-value metadata; `ensure(directory)` writes them only when
they are missing or from another recipe. From the command line, `python tabular.py [DIR]
[--force]` does the same (`--force` always writes) and prints the two paths. Importing this module
imports neither numpy nor pyarrow (only the functions that generate or check data do), so
`compare.py` reads the column lists without growing its own memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep benches/peers/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))

RECIPE = "drifttap-tabular-v1"
REFERENCE_ROWS = 100_000
CURRENT_ROWS = 10_000
SEED_BASE = 20_000
NULL_SEED_OFFSET = 1000
METADATA_KEY = b"drifttap.recipe"

NUMERIC = [
    "age", "income", "credit_score", "balance", "utilisation", "tenure_months", "num_accounts",
    "latency_ms", "temperature", "pressure", "ratio", "session_s", "clicks", "score",
]
CATEGORICAL = ["region", "device", "plan", "country", "channel", "product"]
FLOAT32 = ["utilisation", "latency_ms", "session_s"]
COLUMNS = NUMERIC + CATEGORICAL
NULL_COLUMNS = {"balance": (0.02, 0.05), "region": (0.01, 0.03)}
DRIFTING = ["income", "utilisation", "num_accounts", "temperature", "session_s", "score",
            "device", "channel"]


def _seed(column: str, current: bool) -> int:
    return SEED_BASE + 2 * COLUMNS.index(column) + int(current)


def _exponential(seed: int, n: int, mean: float):
    import numpy as np
    import synth

    u = synth.uniform_at(seed, np.arange(n, dtype=np.uint64))
    return -mean * np.log1p(-u)  # u < 1, so 1 - u > 0


def _categories(seed: int, n: int, names: list[str], shares: list[float]):
    import numpy as np
    import synth

    cumulative = np.cumsum(np.asarray(shares, dtype=np.float64))
    cumulative /= cumulative[-1]
    u = synth.uniform_at(seed, np.arange(n, dtype=np.uint64))
    index = np.minimum(np.searchsorted(cumulative, u, side="right"), len(names) - 1)
    return np.asarray(names, dtype=object)[index]


def _zipf_shares(k: int) -> list[float]:
    return [1.0 / (i + 1) for i in range(k)]


def _numeric(column: str, n: int, current: bool):
    import numpy as np
    import synth

    s = _seed(column, current)
    if column == "age":
        return np.floor(synth.uniform_range(s, n, 18.0, 80.0)).astype(np.int64)
    if column == "income":
        return np.exp(synth.normal(s, n, 10.6 if current else 10.5, 0.6))
    if column == "credit_score":
        return np.round(synth.normal(s, n, 680.0, 60.0)).astype(np.int64)
    if column == "balance":
        return synth.normal(s, n, 5000.0, 1500.0)
    if column == "utilisation":
        low = 0.05 if current else 0.0
        return synth.uniform_range(s, n, low, low + 1.0).astype(np.float32)
    if column == "tenure_months":
        return np.floor(_exponential(s, n, 36.0)).astype(np.int64)
    if column == "num_accounts":
        return np.floor(_exponential(s, n, 5.0 if current else 4.0)).astype(np.int64)
    if column == "latency_ms":
        return np.exp(synth.normal(s, n, 3.0, 0.5)).astype(np.float32)
    if column == "temperature":
        return synth.normal(s, n, 22.5 if current else 20.0, 5.0)
    if column == "pressure":
        return synth.normal(s, n, 101.3, 1.2)
    if column == "ratio":
        return synth.uniform_range(s, n, -1.0, 1.0)
    if column == "session_s":
        return np.exp(synth.normal(s, n, 4.0, 1.0 if current else 0.8)).astype(np.float32)
    if column == "clicks":
        return np.floor(_exponential(s, n, 12.0)).astype(np.int64)
    if column == "score":
        return synth.normal(s, n, 0.03 if current else 0.0, 1.0)
    raise KeyError(column)


def _categorical(column: str, n: int, current: bool):
    s = _seed(column, current)
    if column == "region":
        return _categories(s, n, ["north", "south", "east", "west", "central"],
                           [0.3, 0.25, 0.2, 0.15, 0.1])
    if column == "device":
        return _categories(s, n, ["android", "ios", "web"],
                           [0.55, 0.35, 0.10] if current else [0.70, 0.20, 0.10])
    if column == "plan":
        return _categories(s, n, ["free", "basic", "pro", "enterprise"], [0.5, 0.3, 0.15, 0.05])
    if column == "country":
        return _categories(s, n, [f"c{i:02d}" for i in range(30)], _zipf_shares(30))
    if column == "channel":
        names = ["search", "social", "email", "direct", "referral", "display", "video", "affiliate"]
        shares = [0.3, 0.2, 0.15, 0.12, 0.08, 0.07, 0.05, 0.03]
        if current:
            return _categories(s, n, names + ["partner"], [x * 0.96 for x in shares] + [0.04])
        return _categories(s, n, names, shares)
    if column == "product":
        return _categories(s, n, [f"p{i:02d}" for i in range(12)], _zipf_shares(12))
    raise KeyError(column)


def table(current: bool):
    """The reference (`current=False`) or current table as a pyarrow Table."""
    import numpy as np
    import pyarrow as pa
    import synth

    n = CURRENT_ROWS if current else REFERENCE_ROWS
    arrays, fields = [], []
    for column in COLUMNS:
        values = _numeric(column, n, current) if column in NUMERIC else _categorical(column, n, current)
        mask = None
        if column in NULL_COLUMNS:
            share = NULL_COLUMNS[column][int(current)]
            u = synth.uniform_at(_seed(column, current) + NULL_SEED_OFFSET, np.arange(n, dtype=np.uint64))
            mask = u < share
        if column in NUMERIC:
            array = pa.array(values, mask=mask)
        else:
            array = pa.array(values.tolist(), type=pa.string(), mask=mask)
            if column == "country":
                array = array.dictionary_encode()
        arrays.append(array)
        fields.append(pa.field(column, array.type))
    schema = pa.schema(fields, metadata={METADATA_KEY: RECIPE.encode()})
    return pa.Table.from_arrays(arrays, schema=schema)


def paths(directory: Path) -> tuple[Path, Path]:
    return directory / "reference.parquet", directory / "current.parquet"


def write(directory: Path) -> tuple[Path, Path]:
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    out = paths(directory)
    for path, current in zip(out, (False, True)):
        t = table(current)
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(t, tmp, row_group_size=len(t), compression="snappy")
        tmp.replace(path)
    return out


def up_to_date(directory: Path) -> bool:
    import pyarrow.parquet as pq

    for path in paths(directory):
        try:
            meta = pq.read_schema(path).metadata or {}
        except (OSError, ValueError):
            return False
        if meta.get(METADATA_KEY) != RECIPE.encode():
            return False
    return True


def ensure(directory: Path) -> tuple[Path, Path]:
    """The two files under `directory`, written first when missing or from another recipe."""
    if not up_to_date(directory):
        write(directory)
    return paths(directory)


def default_directory() -> Path:
    return Path.home() / ".cache" / "drifttap" / "peers-data"


if __name__ == "__main__":
    options = [a for a in sys.argv[1:] if a.startswith("--")]
    positional = [a for a in sys.argv[1:] if not a.startswith("--")]
    if set(options) - {"--force"} or len(positional) > 1:
        sys.exit("usage: tabular.py [DIR] [--force]")
    target = Path(positional[0]) if positional else default_directory()
    for p in (write(target) if "--force" in options else ensure(target)):
        print(p)
