#!/usr/bin/env python3
"""Generate `src/stats/pinned/values.rs`: expected values from scipy and alibi-detect.

Run from the repository root, with the peers environment (see `benches/peers/README.md`):

    ~/.cache/drifttap/peers-venv/bin/python benches/peers/pin.py

The inputs are `synth.py` recipes, bit-identical to `src/stats/synth.rs`, so the Rust tests
rebuild the very same samples from the `Gen` / `MatGen` recipes written next to each value. The
script is deterministic: no clock, no unseeded randomness, torch on one CPU thread. It checks its
own assumptions (alibi's permutations, float dtypes, finiteness of every literal) and stops with an
assertion error if one of them fails. Afterwards it formats the output with `rustfmt`.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

# torch and alibi-detect print deprecation notices at import time; they say nothing about the
# values computed here.
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

import alibi_detect  # noqa: E402
import alibi_detect.cd.pytorch.mmd as alibi_mmd_module  # noqa: E402
from alibi_detect.cd import KSDrift, MMDDrift  # noqa: E402
from alibi_detect.utils.pytorch.distance import (  # noqa: E402
    mmd2_from_kernel_matrix,
    squared_pairwise_distance,
)

sys.dont_write_bytecode = True  # keep benches/peers/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src" / "stats" / "pinned" / "values.rs"

torch.set_num_threads(1)


# ------------------------------------------------------------------------------------------------
# Literals


def f64(x) -> str:
    """A Rust `f64` literal that parses back to exactly `x` (Python's shortest round-trip repr)."""
    x = float(x)
    assert math.isfinite(x), f"non-finite value {x!r} cannot be pinned"
    s = repr(x)
    if not any(ch in s for ch in ".e"):
        s += ".0"
    assert float(s) == x
    return s


def f64_list(xs) -> str:
    return "&[" + ", ".join(f64(x) for x in xs) + "]"


def py_list(xs) -> str:
    return "[" + ", ".join(repr(float(x)) for x in xs) + "]"


def int_list(xs) -> str:
    return "&[" + ", ".join(str(int(x)) for x in xs) + "]"


# ------------------------------------------------------------------------------------------------
# Sample recipes (mirror `Gen` and `MatGen` in src/stats/pinned/mod.rs)


@dataclass(frozen=True)
class Normal:
    seed: int
    n: int
    loc: float = 0.0
    scale: float = 1.0

    def sample(self) -> np.ndarray:
        return synth.normal(self.seed, self.n, self.loc, self.scale)

    def call(self) -> str:
        return f"normal({self.seed}, {self.n}, {float(self.loc)!r}, {float(self.scale)!r})"

    def rust(self) -> str:
        return (f"Gen::Normal {{ seed: {self.seed}, n: {self.n}, loc: {f64(self.loc)}, "
                f"scale: {f64(self.scale)} }}")


@dataclass(frozen=True)
class Uniform:
    seed: int
    n: int
    low: float
    high: float

    def sample(self) -> np.ndarray:
        return synth.uniform_range(self.seed, self.n, self.low, self.high)

    def call(self) -> str:
        return f"uniform_range({self.seed}, {self.n}, {float(self.low)!r}, {float(self.high)!r})"

    def rust(self) -> str:
        return (f"Gen::Uniform {{ seed: {self.seed}, n: {self.n}, low: {f64(self.low)}, "
                f"high: {f64(self.high)} }}")


@dataclass(frozen=True)
class Quantized:
    seed: int
    n: int
    loc: float
    scale: float
    step: float

    def sample(self) -> np.ndarray:
        return synth.quantized_normal(self.seed, self.n, self.loc, self.scale, self.step)

    def call(self) -> str:
        return (f"quantized_normal({self.seed}, {self.n}, {float(self.loc)!r}, "
                f"{float(self.scale)!r}, {float(self.step)!r})")

    def rust(self) -> str:
        return (f"Gen::Quantized {{ seed: {self.seed}, n: {self.n}, loc: {f64(self.loc)}, "
                f"scale: {f64(self.scale)}, step: {f64(self.step)} }}")


@dataclass(frozen=True)
class Values:
    values: tuple

    def sample(self) -> np.ndarray:
        return np.array(self.values, dtype=np.float64)

    def call(self) -> str:
        return py_list(self.values)

    def rust(self) -> str:
        return f"Gen::Values({f64_list(self.values)})"


def V(*xs: float) -> Values:
    return Values(tuple(float(x) for x in xs))


@dataclass(frozen=True)
class Mat:
    seed: int
    rows: int
    cols: int
    loc: tuple = ()
    scale: float = 1.0

    def sample(self) -> np.ndarray:
        x = synth.normal_matrix(self.seed, self.rows, self.cols, list(self.loc), self.scale)
        assert x.dtype == np.float64 and x.shape == (self.rows, self.cols)
        return np.ascontiguousarray(x)

    def call(self) -> str:
        return (f"normal_matrix({self.seed}, {self.rows}, {self.cols}, {py_list(self.loc)}, "
                f"{float(self.scale)!r})")

    def rust(self) -> str:
        return (f"MatGen {{ seed: {self.seed}, rows: {self.rows}, cols: {self.cols}, "
                f"loc: {f64_list(self.loc)}, scale: {f64(self.scale)} }}")


def call_scipy(fn, *args, **kwargs):
    """Call `fn`, returning its result and the messages of the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]


def warning_comments(messages) -> list[str]:
    return [f"// scipy warned: {m}" for m in dict.fromkeys(messages)]


# ------------------------------------------------------------------------------------------------
# Kolmogorov–Smirnov

TWO, LESS, GREATER = "two-sided", "less", "greater"
AUTO, EXACT, ASYMP = "auto", "exact", "asymp"
ALL = [(a, m) for a in (TWO, LESS, GREATER) for m in (AUTO, EXACT, ASYMP)]

KS = [
    # Random normals, n1 != n2, every alternative and method.
    (Normal(1, 50), Normal(2, 60, 0.5), ALL),
    # n1 == n2: scipy's exact branch uses a closed form instead of the lattice-path count.
    (Normal(3, 100), Normal(4, 100, 0.3),
     [(TWO, AUTO), (TWO, EXACT), (TWO, ASYMP), (LESS, EXACT), (GREATER, EXACT), (GREATER, ASYMP)]),
    # Coprime large-ish sizes; the one-sided exact attempts overflow and fall back to asymp.
    (Normal(5, 997), Normal(6, 1009, 0.1), [(TWO, AUTO), (TWO, EXACT), (LESS, EXACT), (GREATER, EXACT)]),
    # No shift; a scale change.
    (Normal(7, 1000), Normal(8, 800), [(TWO, AUTO)]),
    (Normal(9, 300), Normal(10, 200, 0.0, 2.0), [(TWO, AUTO), (GREATER, AUTO)]),
    (Uniform(11, 400, -1.7, 1.7), Normal(12, 400), [(TWO, AUTO)]),
    # Heavy ties.
    (Quantized(13, 200, 0.0, 1.0, 0.25), Quantized(14, 150, 0.1, 1.0, 0.25),
     [(TWO, AUTO), (TWO, ASYMP), (LESS, EXACT), (GREATER, EXACT)]),
    (Quantized(15, 500, 0.0, 1.0, 1.0), Quantized(16, 400, 0.3, 1.0, 1.0), [(TWO, AUTO), (LESS, AUTO)]),
    # Identical samples.
    (Quantized(17, 300, 0.0, 1.0, 1.0), Quantized(17, 300, 0.0, 1.0, 1.0), [(TWO, AUTO)]),
    (Normal(18, 100), Normal(18, 100), [(TWO, EXACT)]),
    (V(1, 1, 1), V(1, 1), [(TWO, AUTO)]),
    # Tiny samples. ([0.0] vs [1.0] with method='asymp', two-sided, is NaN in scipy: left out.)
    (V(0.0), V(1.0), [(TWO, AUTO), (TWO, EXACT), (LESS, AUTO), (GREATER, AUTO), (GREATER, ASYMP)]),
    (V(1.0, 2.0), V(1.5), [(TWO, AUTO), (TWO, ASYMP), (LESS, AUTO), (GREATER, ASYMP)]),
    (V(3.0), V(3.0), [(TWO, AUTO)]),
    (V(0.0), Normal(19, 30), [(TWO, AUTO), (GREATER, AUTO)]),
    (Normal(20, 2), Normal(21, 50, 1.0), [(TWO, AUTO), (LESS, AUTO)]),
    # Huge statistics: p ~ 1e-200, subnormal, or underflowing to 0.
    (Normal(22, 1000), Normal(23, 1000, 1.85), [(TWO, EXACT), (TWO, ASYMP)]),
    (Normal(22, 1000), Normal(23, 1000, 2.5), [(TWO, EXACT)]),  # subnormal p
    (Normal(24, 500), Normal(25, 500, 20.0), [(TWO, EXACT), (TWO, ASYMP), (GREATER, EXACT), (LESS, EXACT)]),
    (Normal(26, 500), Normal(27, 600, 20.0), [(TWO, EXACT)]),
    (Uniform(28, 2000, 0.0, 1.0), Uniform(29, 3000, 2.0, 3.0), [(TWO, AUTO)]),
    (Normal(30, 20000), Normal(31, 20000, 10.0), [(TWO, AUTO)]),
    # Either side of scipy's 'auto' rule: exact iff max(n1, n2) <= 10 000.
    (Normal(32, 10000), Normal(33, 5000, 0.02), [(TWO, AUTO)]),
    (Normal(34, 10001), Normal(35, 5000, 0.02), [(TWO, AUTO), (TWO, EXACT)]),
    (Normal(36, 10000), Normal(37, 10000, 0.03), [(TWO, AUTO)]),
    (Normal(38, 10001), Normal(39, 10001, 0.03), [(TWO, AUTO)]),
    # Large (slow to build in debug Rust tests: keep to these two).
    (Normal(40, 100_000), Normal(41, 10_000, 0.01), [(TWO, AUTO)]),
    (Normal(42, 1_000_000), Normal(43, 100_000, 0.005), [(TWO, AUTO)]),
]


def ks_table() -> list[str]:
    out = []
    for ref, cur, combos in KS:
        x, y = ref.sample(), cur.sample()
        for alternative, method in combos:
            res, warned = call_scipy(ks_2samp, x, y, alternative=alternative, method=method)
            out.append(f"// ks_2samp({ref.call()}, {cur.call()}, alternative={alternative!r}, "
                       f"method={method!r})")
            out.extend(warning_comments(warned))
            out.append(
                f"KsPin {{ reference: {ref.rust()}, current: {cur.rust()}, "
                f'alternative: "{alternative}", method: "{method}", '
                f"statistic: {f64(res.statistic)}, p_value: {f64(res.pvalue)} }},")
    return out


# ------------------------------------------------------------------------------------------------
# Chi-squared

CHI2 = [
    # Two categories: dof = 1, Yates' correction applies when correction=True.
    ([120, 80], [100, 100], True),
    ([120, 80], [100, 100], False),
    ([5, 3], [2, 9], True),
    ([5, 3], [2, 9], False),
    # |observed - expected| < 0.5 in every cell: Yates' adjustment is capped at the difference.
    ([10, 10], [10, 11], True),
    ([10, 10], [10, 11], False),
    # 3..10 categories (correction is a no-op when dof > 1).
    ([50, 30, 20], [45, 35, 20], True),
    ([50, 30, 20], [45, 35, 20], False),
    ([210, 180, 240, 190, 180], [98, 110, 120, 80, 92], True),
    ([1000, 950, 1020, 980, 1010, 990, 1005, 970, 1030, 1045],
     [520, 470, 610, 480, 450, 560, 505, 490, 415, 500], True),
    ([3, 0, 7, 1, 12, 4, 2], [1, 2, 9, 0, 15, 3, 5], False),
    # A category unseen in the reference.
    ([40, 60, 0], [35, 50, 15], True),
    ([400, 600, 0, 250], [35, 50, 1, 20], True),
    # Huge statistics: p underflows.
    ([1_000_000, 10], [10, 1_000_000], True),
    ([500_000, 1_000, 2_000, 3_000], [1_000, 2_000, 3_000, 500_000], True),
    ([5_000, 5_000, 5_000], [4_000, 5_000, 6_500], True),
    # Identical proportions: statistic 0, p 1.
    ([100, 200, 300], [50, 100, 150], True),
    ([30, 70], [30, 70], True),
    ([30, 70], [60, 140], False),
]


def chi2_table() -> list[str]:
    out = []
    for ref, cur, correction in CHI2:
        assert all(r + c > 0 for r, c in zip(ref, cur)), "drifttap drops categories absent from both sides"
        table = np.array([ref, cur], dtype=np.int64)
        res, warned = call_scipy(chi2_contingency, table, correction=correction)
        out.append(f"// chi2_contingency(np.array([{ref}, {cur}]), correction={correction})")
        out.extend(warning_comments(warned))
        out.append(
            f"Chi2Pin {{ reference_counts: {int_list(ref)}, current_counts: {int_list(cur)}, "
            f"correction: {str(correction).lower()}, statistic: {f64(res.statistic)}, "
            f"p_value: {f64(res.pvalue)}, dof: {int(res.dof)} }},")
    return out


# ------------------------------------------------------------------------------------------------
# Wasserstein-1

WASSERSTEIN = [
    (Normal(101, 50), Normal(102, 60, 0.5)),
    (Normal(103, 1000), Normal(104, 800, 0.0, 2.0)),
    (Normal(105, 10000), Normal(106, 5000, 0.1, 1.1)),
    (Uniform(107, 300, -1.0, 1.0), Normal(108, 200, 0.2)),
    (Quantized(109, 400, 0.0, 1.0, 0.25), Quantized(110, 300, 0.2, 1.0, 0.25)),
    (Quantized(111, 500, 0.0, 2.0, 1.0), Normal(112, 100)),
    (Quantized(113, 200, 0.0, 1.0, 1.0), Quantized(113, 200, 0.0, 1.0, 1.0)),
    (Normal(114, 500), Normal(115, 700, 50.0)),
    (V(0.0), V(1.0)),
    (V(1.0, 2.0), V(1.5)),
    (V(0.0), Normal(116, 30)),
    (V(3.0, 1.0, 2.0, 2.0), V(2.0, 2.0, 5.0)),
]


def wasserstein_table() -> list[str]:
    out = []
    for ref, cur in WASSERSTEIN:
        d, warned = call_scipy(wasserstein_distance, ref.sample(), cur.sample())
        out.append(f"// wasserstein_distance({ref.call()}, {cur.call()})")
        out.extend(warning_comments(warned))
        out.append(f"WassersteinPin {{ reference: {ref.rust()}, current: {cur.rust()}, "
                   f"distance: {f64(d)} }},")
    return out


# ------------------------------------------------------------------------------------------------
# MMD² (alibi-detect, PyTorch backend)

MMD = [
    # (reference, current, n_permutations, torch_seed, p_val)
    (Mat(201, 30, 3), Mat(202, 30, 3), 20, 0, 0.05),
    (Mat(203, 50, 5), Mat(204, 35, 5), 30, 1, 0.05),
    (Mat(205, 40, 4), Mat(206, 40, 4, (0.5, 0.0, 0.5)), 50, 2, 0.05),
    (Mat(207, 40, 1), Mat(208, 25, 1, (0.3,), 1.2), 25, 3, 0.1),
    (Mat(209, 200, 8), Mat(210, 200, 8, (0.15,)), 100, 4, 0.05),
    # Tiny: 35 possible splits, so some permutations reproduce the observed split. Here one of
    # them sums to one float64 ulp below the observed statistic (summation order), which is equal
    # in float32 and so counts towards the p-value.
    (Mat(227, 4, 2), Mat(228, 3, 2, (1.0,)), 60, 0, 0.05),
]


def lower_median_sigma(x: np.ndarray) -> float:
    """Median heuristic, written independently of alibi: the lower median of the squared
    Euclidean distances between distinct reference rows, sigma = sqrt(median / 2)."""
    diff = x[:, None, :] - x[None, :, :]
    sq = np.einsum("ijk,ijk->ij", diff, diff)
    pairs = np.sort(sq[np.triu_indices(len(x), 1)])
    return math.sqrt(0.5 * pairs[(len(pairs) - 1) // 2])


def mmd2_numpy(k: np.ndarray, cur_idx: np.ndarray) -> float:
    """Unbiased MMD² from a zero-diagonal pooled kernel matrix, current group = `cur_idx`."""
    mask = np.zeros(len(k), dtype=bool)
    mask[cur_idx] = True
    n, m = int((~mask).sum()), int(mask.sum())
    kxx = k[np.ix_(~mask, ~mask)].sum()
    kyy = k[np.ix_(mask, mask)].sum()
    kxy = k[np.ix_(mask, ~mask)].sum()
    return kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2.0 * kxy / (n * m)


def mmd_case(ref: Mat, cur: Mat, n_perm: int, torch_seed: int, p_val: float):
    x_ref, x = ref.sample(), cur.sample()
    n, m = len(x_ref), len(x)

    cd = MMDDrift(x_ref, backend="pytorch", p_val=p_val, n_permutations=n_perm, device="cpu")
    torch.manual_seed(torch_seed)
    pred = cd.predict(x)
    det = cd._detector
    sigma_t = det.kernel.sigma
    assert sigma_t.dtype == torch.float32 and sigma_t.shape == (1,)
    sigma = float(sigma_t.item())
    mmd2 = pred["data"]["distance"]
    p_value = pred["data"]["p_val"]
    threshold = pred["data"]["distance_threshold"]

    # The permutations: predict draws nothing from torch's generator except the n_perm
    # `torch.randperm(n + m)` calls in `mmd2_from_kernel_matrix`.
    torch.manual_seed(torch_seed)
    perms = [torch.randperm(n + m) for _ in range(n_perm)]

    # Check 1: replay alibi's own arithmetic with those permutations; p-value and threshold must
    # come out bit-identical.
    xr_t, x_t = torch.from_numpy(x_ref), torch.from_numpy(x)
    assert xr_t.dtype == torch.float64 and x_t.dtype == torch.float64
    kmat = det.kernel_matrix(xr_t, x_t)
    assert kmat.dtype == torch.float64
    kmat = kmat - torch.diag(kmat.diag())
    replay_obs = mmd2_from_kernel_matrix(kmat, m, permute=False, zero_diag=False)
    replay = []
    for idx in perms:
        km = kmat[idx][:, idx]
        replay.append(mmd2_from_kernel_matrix(km, m, permute=False, zero_diag=False).item())
    replay_t = torch.Tensor(replay)  # float32, as in alibi's score()
    assert replay_t.dtype == torch.float32
    assert replay_obs.item() == mmd2
    # alibi compares a 0-d float64 tensor with a 1-d float32 one: torch does that in float32.
    assert torch.result_type(replay_obs, replay_t) == torch.float32
    assert (replay_obs <= replay_t).float().mean().item() == p_value
    idx_threshold = int(p_val * n_perm)
    assert torch.sort(replay_t, descending=True).values[idx_threshold].item() == threshold

    # Check 2: intercept alibi's calls on a fresh detector and compare every permuted statistic.
    captured = []

    def spy(*args, **kwargs):
        value = mmd2_from_kernel_matrix(*args, **kwargs)
        captured.append(value.item())
        return value

    alibi_mmd_module.mmd2_from_kernel_matrix = spy
    try:
        cd2 = MMDDrift(x_ref, backend="pytorch", p_val=p_val, n_permutations=n_perm, device="cpu")
        torch.manual_seed(torch_seed)
        pred2 = cd2.predict(x)
    finally:
        alibi_mmd_module.mmd2_from_kernel_matrix = mmd2_from_kernel_matrix
    assert pred2["data"] == pred["data"]
    assert captured[0] == mmd2 and captured[1:] == replay

    # Check 3: independent numpy re-derivation (kernel from direct differences, gamma from the
    # float32 sigma as alibi computes it), equal up to rounding.
    # alibi stores log(sigma) in a float32 parameter and reads back exp(log_sigma) in float32:
    # sigma = exp_f32(float32(ln(median heuristic))). That can be one float32 ulp away from
    # float32(median heuristic), and torch's float32 exp is not always correctly rounded either.
    median_sigma = lower_median_sigma(x_ref)
    roundtrip = float(np.float32(math.exp(float(np.float32(math.log(median_sigma))))))
    assert abs(roundtrip - sigma) <= np.spacing(np.float32(sigma)), (roundtrip, sigma)
    s32 = np.float32(sigma)
    gamma = float(np.float32(1.0) / (np.float32(2.0) * (s32 * s32)))  # float32 throughout
    pooled = np.vstack([x_ref, x])
    diff = pooled[:, None, :] - pooled[None, :, :]
    k_np = np.exp(-gamma * np.einsum("ijk,ijk->ij", diff, diff))
    np.fill_diagonal(k_np, 0.0)
    assert np.allclose(k_np, kmat.numpy(), rtol=1e-13, atol=1e-15)
    assert math.isclose(mmd2_numpy(k_np, np.arange(n, n + m)), mmd2, rel_tol=1e-9, abs_tol=1e-14)
    for idx, value in zip(perms, replay):
        assert math.isclose(mmd2_numpy(k_np, idx[n:].numpy()), value, rel_tol=1e-9, abs_tol=1e-14)

    # float32 comparisons: does any permuted statistic compare differently than it would in f64?
    obs32 = np.float32(mmd2)
    flips = sum((mmd2 <= v) != (obs32 <= np.float32(v)) for v in replay)
    near = sum(np.float32(v) == obs32 for v in replay)
    gap = min(abs(v - mmd2) for v in replay)
    sigma64 = float(det.kernel.init_sigma_fn(xr_t, xr_t, squared_pairwise_distance(xr_t, xr_t)).item())
    stats = dict(flips=flips, near=near, gap=gap, ulp32=abs(float(np.spacing(obs32))),
                 sigma64=sigma64, plain32=float(np.float32(sigma64)), roundtrip=roundtrip)
    return dict(sigma=sigma, mmd2=mmd2, p_value=p_value, threshold=threshold,
                perms=[p[n:].tolist() for p in perms], stats=stats)


MMD_NOTES = []


def mmd_table() -> list[str]:
    out = []
    for ref, cur, n_perm, seed, p_val in MMD:
        r = mmd_case(ref, cur, n_perm, seed, p_val)
        s = r["stats"]
        MMD_NOTES.append((ref, cur, s))
        out.append(f"// x_ref = {ref.call()}; x = {cur.call()}")
        out.append(f"// cd = MMDDrift(x_ref, backend='pytorch', p_val={p_val!r}, "
                   f"n_permutations={n_perm}, device='cpu'); torch.manual_seed({seed}); "
                   f"cd.predict(x)")
        out.append(f"// median heuristic in float64: {s['sigma64']!r}; as float32: {s['plain32']!r}; "
                   f"correctly rounded exp_f32(f32(ln)): {s['roundtrip']!r}")
        out.append(f"// permuted statistics equal to the observed in float32: {s['near']}, "
                   f"compared differently in float32 than in float64: {s['flips']}")
        perms = ", ".join(int_list(p) for p in r["perms"])
        out.append(
            f"MmdPin {{ reference: {ref.rust()}, current: {cur.rust()}, torch_seed: {seed}, "
            f"p_val: {f64(p_val)}, sigma: {f64(r['sigma'])}, mmd2: {f64(r['mmd2'])}, "
            f"p_value: {f64(r['p_value'])}, distance_threshold: {f64(r['threshold'])}, "
            f"permutations: &[{perms}] }},")
    return out


# ------------------------------------------------------------------------------------------------
# Multiple-testing correction (alibi-detect KSDrift, drift_type='batch')

CORRECTIONS = [
    # (p-values, p_val)
    ([0.01, 0.02, 0.03, 0.5], 0.05),
    ([0.2, 0.5, 0.9], 0.05),
    ([1e-10, 0.6, 0.7, 0.8, 0.9], 0.05),
    ([0.01, 0.01, 0.01, 0.01], 0.05),
    ([0.0125, 0.0125, 0.0125, 0.0125], 0.05),
    ([0.03], 0.05),
    ([0.07], 0.05),
    ([0.001, 0.04, 0.041, 0.9], 0.1),
    ([0.02, 0.024, 0.5], 0.05),
    ([0.5, 0.031, 0.2, 0.033, 0.034, 0.9, 0.06, 0.7, 0.004, 0.8], 0.1),
    ([0.0, 1.0, 1.0], 0.01),
]


def correction(p_values, method: str, p_val: float):
    """Run KSDrift.predict(drift_type='batch') with its per-feature p-values replaced."""
    k = len(p_values)
    cd = KSDrift(np.zeros((4, k)), p_val=p_val, correction=method)
    cd.feature_score = lambda x_ref, x: (np.array(p_values, dtype=np.float64), np.zeros(k))
    data = cd.predict(np.zeros((4, k)), drift_type="batch")["data"]
    drift, threshold = int(data["is_drift"]), data["threshold"]
    if method == "bonferroni":
        assert threshold == p_val / k and drift == int(any(p < p_val / k for p in p_values))
    elif np.ndim(threshold) == 1:
        # fdr found no p-value under its line and returned all of q * i / n; the first is p_val / n.
        assert drift == 0 and threshold[0] == p_val / k
        threshold = p_val / k
    return bool(drift), float(threshold)


def correction_table() -> list[str]:
    out = []
    for p_values, p_val in CORRECTIONS:
        for method in ("bonferroni", "fdr"):
            drift, threshold = correction(p_values, method, p_val)
            out.append(f"// KSDrift(x_ref, p_val={p_val!r}, correction={method!r}).predict(x, "
                       f"drift_type='batch') with feature p-values {py_list(p_values)}")
            out.append(f'CorrectionPin {{ p_values: {f64_list(p_values)}, method: "{method}", '
                       f"p_val: {f64(p_val)}, drift: {str(drift).lower()}, "
                       f"threshold: {f64(threshold)} }},")
    return out


# ------------------------------------------------------------------------------------------------
# Binned effect sizes: PSI and Jensen–Shannon distance


def binned(ref: np.ndarray, cur: np.ndarray, bins: int, epsilon: float):
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins, method="inverted_cdf"))
    k = len(edges) + 1
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=k) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=k) / len(cur)
    r_eps = np.where(r == 0.0, epsilon, r)
    c_eps = np.where(c == 0.0, epsilon, c)
    terms = (c_eps - r_eps) * np.log(c_eps / r_eps)
    psi = 0.0
    for t in terms:  # left to right over the bins
        psi += float(t)
    js = jensenshannon(r, c, base=2)
    return psi, float(js), len(edges)


BINNED = [
    # (reference, current, bins)
    (Normal(301, 5000), Normal(302, 3000), 10),
    (Normal(303, 5000), Normal(304, 3000, 0.5), 10),
    (Normal(305, 5000), Normal(306, 3000, 0.0, 2.0), 10),
    (Normal(307, 2000), Normal(308, 1000, 0.3), 5),
    (Normal(309, 2000), Normal(310, 1000, 0.3), 20),
    (Quantized(311, 1000, 0.0, 0.5, 1.0), Normal(312, 500), 10),
    (Quantized(313, 1000, 0.0, 1.0, 1.0), Quantized(314, 800, 0.4, 1.0, 1.0), 10),
    (Normal(315, 1000), Normal(316, 500, 20.0), 10),
    (Normal(317, 1000), Normal(318, 500, -20.0), 10),
    (Uniform(319, 7, 0.0, 1.0), Uniform(320, 20, 0.0, 1.0), 10),
    (V(1.0, 1.0, 1.0, 1.0), V(0.5, 1.0, 1.5), 10),
]


def binned_table() -> list[str]:
    eps = 1e-4
    out = []
    for ref, cur, bins in BINNED:
        (psi, js, n_edges), warned = call_scipy(binned, ref.sample(), cur.sample(), bins, eps)
        out.append(f"// reference {ref.call()}, current {cur.call()}, bins={bins}, "
                   f"epsilon={eps!r}: {n_edges} distinct edges")
        out.extend(warning_comments(warned))
        out.append(f"BinnedPin {{ reference: {ref.rust()}, current: {cur.rust()}, bins: {bins}, "
                   f"epsilon: {f64(eps)}, psi: {f64(psi)}, js: {f64(js)} }},")
    return out


# ------------------------------------------------------------------------------------------------


def table(name: str, ty: str, doc: str, lines: list[str]) -> str:
    body = "\n".join("    " + line for line in lines)
    return f"/// {doc}\npub(crate) const {name}: &[{ty}] = &[\n{body}\n];\n"


def main() -> None:
    versions = (f"scipy {scipy.__version__}, numpy {np.__version__}, torch {torch.__version__}, "
                f"alibi-detect {alibi_detect.__version__}, Python {platform.python_version()}")
    parts = [
        "// @generated by `benches/peers/pin.py`; do not edit, rerun the script instead:\n"
        "//     ~/.cache/drifttap/peers-venv/bin/python benches/peers/pin.py\n"
        f"// {versions}.\n"
        "// Names in the comments (normal, uniform_range, quantized_normal, normal_matrix) are the\n"
        "// `benches/peers/synth.py` generators, bit-identical to `crate::stats::synth`.\n\n"
        "use super::*;\n",
        table("KS_CASES", "KsPin", "`scipy.stats.ks_2samp`.", ks_table()),
        table("CHI2_CASES", "Chi2Pin",
              "`scipy.stats.chi2_contingency` on the 2 × k table [reference, current].",
              chi2_table()),
        table("WASSERSTEIN_CASES", "WassersteinPin", "`scipy.stats.wasserstein_distance`.",
              wasserstein_table()),
        table("MMD_CASES", "MmdPin",
              "alibi-detect `MMDDrift` (PyTorch backend, float64 inputs). Its permuted statistics "
              "are\n/// float32 and the p-value comparison happens in float32.",
              mmd_table()),
        table("CORRECTION_CASES", "CorrectionPin",
              "alibi-detect's batch-level correction (`KSDrift.predict(x, drift_type='batch')`).",
              correction_table()),
        table("BINNED_CASES", "BinnedPin",
              "PSI (numpy) and Jensen–Shannon distance (`scipy.spatial.distance.jensenshannon`, "
              "base 2)\n/// on reference-quantile bins.",
              binned_table()),
    ]
    text = "\n".join(parts)
    OUT.write_text(text)
    rustfmt = shutil.which("rustfmt")
    if rustfmt:
        subprocess.run([rustfmt, "--edition", "2024", str(OUT)], check=True)
    else:
        print("rustfmt not found: values.rs left unformatted", file=sys.stderr)

    counts = {name: text.count(f"{ty} {{") for name, ty in [
        ("KS_CASES", "KsPin"), ("CHI2_CASES", "Chi2Pin"), ("WASSERSTEIN_CASES", "WassersteinPin"),
        ("MMD_CASES", "MmdPin"), ("CORRECTION_CASES", "CorrectionPin"),
        ("BINNED_CASES", "BinnedPin")]}
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes): "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for ref, cur, s in MMD_NOTES:
        print(f"  MMD {ref.call()} vs {cur.call()}: nearest permuted statistic {s['gap']:.3e} "
              f"from the observed (float32 ulp {s['ulp32']:.3e}), float32 flips {s['flips']}, "
              f"equal in float32 {s['near']}")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
