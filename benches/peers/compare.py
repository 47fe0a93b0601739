#!/usr/bin/env python3
"""Side-by-side timings: drifttap against scipy, alibi-detect and a numpy port, on identical data.

Run from the repository root, with the peers environment (see `benches/peers/README.md`):

    ~/.cache/drifttap/peers-venv/bin/python benches/peers/compare.py [options]

Options:

    --workloads LIST   comma-separated subset of ks-features,ks-one,mmd-5k,mmd-10k (default: all)
    --threads LIST     thread counts for drifttap and the numpy port (default: 1,2)
    --skip-alibi-mmd   leave alibi-detect's MMDDrift out of every MMD workload
    --alibi-mmd-10k    also run alibi-detect's MMDDrift on mmd-10k (several times as long as on
                       mmd-5k, several GB of memory); it is skipped by default
    --quick            same as --workloads ks-features,ks-one,mmd-5k --skip-alibi-mmd (about a minute)
    --timeout SECONDS  limit for each subprocess (default 1800)

The script first builds drifttap's side, `cargo build --release --example peer_timings`
(`benches/peers/timings.rs`), then for each workload runs that binary and the peers as separate
subprocesses on the same `synth` data (bit-identical to drifttap's generator), and prints one
table per workload: seconds, peer time / drifttap time at the same thread count and at one
thread, peak RSS for the MMD workloads, and agreement checks. A compact markdown table with the
command line comes last. A failing peer is reported in its table and does not stop the run;
Ctrl-C stops it and prints what was measured so far. A default run takes about 4 to 6 minutes on
two cores, most of it alibi-detect's MMDDrift on mmd-5k (90 to 270 s, depending on how busy the
machine is); --quick takes about a minute.

What is timed is the call a user times: data generation and reference preparation are not.
drifttap's reference is sorted (KS) or prepared (MMD: bandwidth and reference-block sums) ahead
of time; alibi-detect's detectors are constructed ahead of time (MMDDrift computes the bandwidth
and K_xx then); scipy receives raw arrays and sorts them on every call. The footnotes under each
table say what each number includes.

The workloads and data recipes mirror `benches/peers/timings.rs`; change both or neither.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import time
import traceback
import warnings
from importlib import metadata
from pathlib import Path

sys.dont_write_bytecode = True  # keep benches/peers/ free of __pycache__
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

# ------------------------------------------------------------------------------------------------
# Workloads (keep in sync with benches/peers/timings.rs)

KS_FEATURES = dict(features=100, n=100_000, m=10_000)
KS_SHIFT = 0.1  # feature f drifts (window mean KS_SHIFT) when f % 10 == 0
KS_ONE = dict(n=1_000_000, m=100_000)
MMD = {
    "mmd-5k": dict(n=5_000, m=5_000, d=32, permutations=100),
    "mmd-10k": dict(n=10_000, m=10_000, d=64, permutations=100),
}
WORKLOADS = ["ks-features", "ks-one", "mmd-5k", "mmd-10k"]
P_VAL = 0.05
KS_FEATURES_REPEATS = 3
KS_ONE_REPEATS = 5
NUMPY_MMD_SEED = 1
MMD_REL_TOL = 1e-6
RESULT_TAG = "@@compare-result "


def drifttap_args(workload: str, threads: int) -> list[str]:
    if workload == "ks-features":
        c = KS_FEATURES
        return ["ks-features", str(c["features"]), str(c["n"]), str(c["m"]), str(threads)]
    if workload == "ks-one":
        return ["ks-one", str(KS_ONE["n"]), str(KS_ONE["m"])]
    c = MMD[workload]
    return ["mmd", str(c["n"]), str(c["m"]), str(c["d"]), str(c["permutations"]), str(threads)]


def ks_features_data():
    import numpy as np
    import synth

    c = KS_FEATURES
    ref = np.empty((c["n"], c["features"]))
    cur = np.empty((c["m"], c["features"]))
    for f in range(c["features"]):
        ref[:, f] = synth.normal(1000 + f, c["n"], 0.0, 1.0)
        cur[:, f] = synth.normal(5000 + f, c["m"], KS_SHIFT if f % 10 == 0 else 0.0, 1.0)
    return ref, cur


def ks_one_data():
    import synth

    return synth.normal(11, KS_ONE["n"], 0.0, 1.0), synth.normal(12, KS_ONE["m"], 0.01, 1.0)


def mmd_data(workload: str):
    import synth

    c = MMD[workload]
    d = c["d"]
    ref = synth.normal_matrix(77, c["n"], d, [], 1.0)
    cur = synth.normal_matrix(78, c["m"], d, [0.05] * min(d, 4), 1.0)
    return ref, cur


# ------------------------------------------------------------------------------------------------
# Child side: one subprocess per peer (per group of KS peers), so that memory and BLAS threads
# of one measurement do not leak into another.


def emit(result: dict) -> None:
    print(RESULT_TAG + json.dumps(result), flush=True)


def peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def best_of(repeats: int, call):
    best, out = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - start)
    return best, out


def blas_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
    return counts[0] if counts else None


def quiet_imports() -> None:
    # torch and alibi-detect print deprecation notices at import time; they say nothing about
    # the numbers measured here.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning)


def run_peer(peer: str, body) -> None:
    try:
        result = body()
        result["peer"] = peer
        emit(result)
    except Exception as exc:  # reported to the parent, which prints it in the table
        traceback.print_exc()
        emit({"peer": peer, "error": f"{type(exc).__name__}: {exc}"})


def child_ks_features(peers: list[str]) -> None:
    import numpy as np
    from scipy.stats import ks_2samp

    ref, cur = ks_features_data()
    features = ref.shape[1]

    def alibi():
        quiet_imports()
        import alibi_detect.cd.ks as alibi_ks
        from alibi_detect.cd import KSDrift

        cd = KSDrift(ref, p_val=P_VAL)
        # Record how alibi calls scipy (one untimed predict), then time the unmodified call.
        calls = []
        original = alibi_ks.ks_2samp

        def spy(*args, **kwargs):
            calls.append(kwargs)
            return original(*args, **kwargs)

        alibi_ks.ks_2samp = spy
        try:
            cd.predict(cur, return_p_val=True)
        finally:
            alibi_ks.ks_2samp = original
        seconds, pred = best_of(KS_FEATURES_REPEATS, lambda: cd.predict(cur, return_p_val=True))
        p = np.asarray(pred["data"]["p_val"])
        return {
            "seconds": seconds,
            "threads": 1,
            "p_values": [float(v) for v in p],
            "p_dtype": str(p.dtype),
            # the comparison alibi itself makes (a float32 array against a Python float)
            "verdicts": [bool(v) for v in p < P_VAL / features],
            "is_drift": int(pred["data"]["is_drift"]),
            "threshold": float(pred["data"]["threshold"]),
            "correction": cd.correction,
            "ks_2samp_kwargs": sorted({json.dumps(c, sort_keys=True) for c in calls}),
        }

    def scipy_loop(reference):
        def body():
            def loop():
                return [ks_2samp(reference[:, f], cur[:, f]) for f in range(features)]

            seconds, res = best_of(KS_FEATURES_REPEATS, loop)
            return {"seconds": seconds, "threads": 1, "p_values": [float(r.pvalue) for r in res]}

        return body

    bodies = {
        "alibi-ks": alibi,
        "scipy-ks": scipy_loop(ref),
        "scipy-ks-sorted": scipy_loop(np.sort(ref, axis=0)) if "scipy-ks-sorted" in peers else None,
    }
    for peer in peers:
        run_peer(peer, bodies[peer])


def child_ks_one(peers: list[str]) -> None:
    import numpy as np
    from scipy.stats import ks_2samp

    ref, cur = ks_one_data()

    def scipy_one(reference):
        def body():
            seconds, res = best_of(KS_ONE_REPEATS, lambda: ks_2samp(reference, cur))
            return {"seconds": seconds, "threads": 1, "statistic": float(res.statistic),
                    "p_value": float(res.pvalue)}

        return body

    bodies = {"scipy-ks": scipy_one(ref),
              "scipy-ks-sorted": scipy_one(np.sort(ref)) if "scipy-ks-sorted" in peers else None}
    for peer in peers:
        run_peer(peer, bodies[peer])


def squared_distances(a, b):
    """`|a|² + |b|² - 2 a·bᵀ` clamped at 1e-30, as alibi's `squared_pairwise_distance`."""
    import numpy as np

    out = a @ np.ascontiguousarray(b.T)  # a plain GEMM; numpy's SYRK for `a @ a.T` is slower here
    out *= -2.0
    out += np.einsum("ij,ij->i", a, a)[:, None]
    out += np.einsum("ij,ij->i", b, b)[None, :]
    np.maximum(out, 1e-30, out=out)
    return out


def alibi_sigma(ref) -> float:
    """alibi-detect's median heuristic and float32 bandwidth, in numpy."""
    import numpy as np

    n = len(ref)
    flat = squared_distances(ref, ref).reshape(-1)
    k = n + (flat.size - n) // 2 - 1  # the element alibi takes after sorting all n² distances
    flat.partition(k)
    median = float(flat[k])
    del flat
    # alibi stores log(sigma) in a float32 parameter and returns its float32 exp
    return float(np.exp(np.float32(np.log(math.sqrt(0.5 * median)))))


def numpy_mmd(ref, cur, sigma: float, permutations: int, seed: int):
    """Unbiased MMD² and its permutation p-value, every labelling in one matrix product.

    The pooled kernel matrix K (zero diagonal, alibi's float32 gamma) is built in float64; S holds
    one column per labelling (the observed one, then the permutations: 1 marks a row of the
    "current" group) plus a column of ones. With KS = K @ S, each labelling's block sums are
    Σ_YY = sᵀKs, Σ_XY = sᵀK1 - sᵀKs and Σ_XX = 1ᵀK1 - 1ᵀKs - sᵀK1 + sᵀKs.
    """
    import numpy as np

    n, m = len(ref), len(cur)
    size = n + m
    pooled = np.concatenate([ref, cur])
    kernel = squared_distances(pooled, pooled)
    s32 = np.float32(sigma)
    gamma = np.float32(1.0) / (np.float32(2.0) * s32 * s32)  # float32, as alibi computes it
    kernel *= -float(gamma)
    np.exp(kernel, out=kernel)
    np.fill_diagonal(kernel, 0.0)

    rng = np.random.default_rng(seed)
    labels = np.zeros((size, permutations + 2))
    labels[n:, 0] = 1.0
    for j in range(1, permutations + 1):
        labels[rng.permutation(size)[n:], j] = 1.0  # like alibi: the last m of a permutation
    labels[:, -1] = 1.0
    ks = kernel @ labels
    del kernel
    quad = np.einsum("ij,ij->j", labels, ks)  # sᵀKs
    col = ks.sum(axis=0)  # 1ᵀKs
    row = labels.T @ ks[:, -1]  # sᵀK1
    total = col[-1]
    kxx = total - col - row + quad
    kxy = row - quad
    mmd2 = kxx / (n * (n - 1)) + quad / (m * (m - 1)) - 2.0 * kxy / (n * m)
    observed, permuted = float(mmd2[0]), mmd2[1:-1]
    return observed, float(np.mean(permuted >= observed))


def child_mmd(workload: str, peer: str, threads: int) -> None:
    c = MMD[workload]
    ref, cur = mmd_data(workload)

    def numpy_port():
        sigma = alibi_sigma(ref)  # reference preparation: not timed
        start = time.perf_counter()
        mmd2, p = numpy_mmd(ref, cur, sigma, c["permutations"], NUMPY_MMD_SEED)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "threads": threads, "blas_threads": blas_threads(),
                "sigma": sigma, "statistic": mmd2, "p_value": p, "peak_rss_bytes": peak_rss_bytes()}

    def alibi():
        quiet_imports()
        import torch
        from alibi_detect.cd import MMDDrift

        cd = MMDDrift(ref, backend="pytorch", p_val=P_VAL, n_permutations=c["permutations"],
                      device="cpu")
        start = time.perf_counter()
        pred = cd.predict(cur)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "threads": torch.get_num_threads(),
                "sigma": float(cd._detector.kernel.sigma.item()),
                "statistic": float(pred["data"]["distance"]), "p_value": float(pred["data"]["p_val"]),
                "peak_rss_bytes": peak_rss_bytes()}

    run_peer(peer, {"numpy-mmd": numpy_port, "alibi-mmd": alibi}[peer])


def child_main(workload: str, peers: str, threads: int) -> int:
    peer_list = peers.split(",")
    if workload == "ks-features":
        child_ks_features(peer_list)
    elif workload == "ks-one":
        child_ks_one(peer_list)
    else:
        for peer in peer_list:
            child_mmd(workload, peer, threads)
    return 0


# ------------------------------------------------------------------------------------------------
# Parent side


LABELS = {
    "drifttap": "drifttap",
    "alibi-ks": "alibi-detect KSDrift.predict",
    "scipy-ks": "scipy ks_2samp",
    "scipy-ks-sorted": "scipy ks_2samp, ref pre-sorted",
    "numpy-mmd": "numpy port (K @ S)",
    "alibi-mmd": "alibi-detect MMDDrift.predict (torch)",
}


class Interrupted(Exception):
    pass


def parse_json_line(text: str) -> dict:
    # Rust's `{:?}` writes infinities as `inf`; Python's json reads `NaN` but not `inf`.
    return json.loads(re.sub(r"(?<![A-Za-z])inf\b", "Infinity", text))


def tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_process(cmd: list[str], timeout: float, env: dict | None = None):
    """Runs `cmd`; returns (stdout, error or None). Ctrl-C ends the child and propagates."""
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return "", f"timed out after {timeout:.0f} s"
    except KeyboardInterrupt:
        raise Interrupted() from None
    except OSError as exc:
        return "", f"could not start: {exc}"
    if proc.returncode == -2 or proc.returncode == 130:
        raise Interrupted()
    if proc.returncode != 0:
        return proc.stdout, f"exit status {proc.returncode}: {tail(proc.stderr) or tail(proc.stdout)}"
    return proc.stdout, None


def binary_path() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "release" / "examples" / "peer_timings"


def build() -> bool:
    cmd = ["cargo", "build", "--release", "--example", "peer_timings"]
    print(f"building: {shlex.join(cmd)}", flush=True)
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    except KeyboardInterrupt:
        raise Interrupted() from None
    except OSError as exc:
        print(f"cargo could not be started: {exc}", file=sys.stderr)
        return False
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        print("the drifttap side did not build; nothing to compare against", file=sys.stderr)
        return False
    return True


def run_drifttap(workload: str, threads: int, timeout: float) -> dict:
    cmd = [str(binary_path())] + drifttap_args(workload, threads)
    row = {"tool": "drifttap", "threads": threads, "command": shlex.join(
        ["target/release/examples/peer_timings"] + drifttap_args(workload, threads))}
    out, error = run_process(cmd, timeout)
    if error is None:
        lines = [line for line in out.splitlines() if line.startswith("{")]
        try:
            row.update(parse_json_line(lines[-1]))
        except (IndexError, ValueError) as exc:
            error = f"unreadable output ({exc}): {tail(out, 2)}"
    if error is not None:
        row["error"] = error
    return row


def run_children(workload: str, peers: list[str], threads: int, timeout: float,
                 set_blas_threads: bool = False) -> list[dict]:
    env = dict(os.environ)
    if set_blas_threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--run-one", workload, ",".join(peers),
           "--child-threads", str(threads)]
    out, error = run_process(cmd, timeout, env)
    rows = {}
    for line in out.splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG):])
            rows[result["peer"]] = result
    results = []
    for peer in peers:
        row = rows.get(peer, {"peer": peer, "error": error or "no result"})
        row["tool"] = peer
        row.setdefault("threads", threads)
        results.append(row)
    return results


def fmt_seconds(s) -> str:
    if s is None or not math.isfinite(s):
        return "-"
    if s >= 100:
        return f"{s:.1f}"
    if s >= 1:
        return f"{s:.2f}"
    return f"{s:.4f}"


def fmt_ratio(r) -> str:
    if r is None or not math.isfinite(r):
        return "n/a"
    if r >= 100:
        return f"{r:.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.2f}x"


def fmt_rss(b) -> str:
    if not b:
        return "-"
    return f"{b / 2**20:.0f} MiB" if b < 2**30 else f"{b / 2**30:.2f} GiB"


def fmt_float(x) -> str:
    return "n/a" if x is None else repr(float(x))


def rel_diff(a, b) -> float:
    if a is None or b is None:
        return math.nan
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def ok(row) -> bool:
    return "error" not in row and row.get("seconds") is not None


class Report:
    def __init__(self, workload: str):
        self.workload = workload
        self.rows: list[dict] = []
        self.agreement: list[str] = []
        self.notes: list[str] = []

    def drifttap_seconds(self, threads: int):
        for row in self.rows:
            if row["tool"] == "drifttap" and row["threads"] == threads and ok(row):
                return row["seconds"]
        return None

    def ratios(self, row):
        same = self.drifttap_seconds(row["threads"])
        one = self.drifttap_seconds(1)
        if not ok(row):
            return None, None
        return (row["seconds"] / same if same else None), (row["seconds"] / one if one else None)

    def show_rss(self) -> bool:
        return self.workload.startswith("mmd")

    def print(self) -> None:
        print()
        print(f"=== {self.workload} ===")
        headers = ["tool", "threads", "seconds", "vs drifttap same threads", "vs drifttap 1 thread"]
        if self.show_rss():
            headers.append("peak RSS")
        table = []
        for row in self.rows:
            same, one = self.ratios(row)
            if row["tool"] == "drifttap":
                same = None
            cells = [LABELS[row["tool"]], str(row["threads"]), fmt_seconds(row.get("seconds")),
                     "-" if row["tool"] == "drifttap" else fmt_ratio(same), fmt_ratio(one)]
            if self.show_rss():
                cells.append(fmt_rss(row.get("peak_rss_bytes")))
            if not ok(row):
                cells[2:] = ["FAILED"] + ["-"] * (len(cells) - 3)
            table.append(cells)
        widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
        print("  ".join("-" * w for w in widths))
        for cells in table:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(cells, widths))))
        failures = [row for row in self.rows if not ok(row)]
        for row in failures:
            print(f"FAILED {LABELS[row['tool']]} ({threads_text(row['threads'])}): {row.get('error')}")
        if self.agreement:
            print("agreement:")
            for line in self.agreement:
                print(f"  {line}")
        if self.notes:
            print("notes:")
            for line in self.notes:
                print(f"  - {line}")
        sys.stdout.flush()


def progress(workload: str, row: dict) -> None:
    if ok(row):
        what = f"{fmt_seconds(row['seconds'])} s"
    else:
        what = "FAILED: " + str(row.get("error")).splitlines()[-1]
    print(f"  [{workload}] {LABELS[row['tool']]}, {threads_text(row['threads'])}: {what}", flush=True)


def threads_text(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


def workload_ks_features(args, report: Report) -> None:
    for t in args.threads:
        report.rows.append(run_drifttap("ks-features", t, args.timeout))
        progress(report.workload, report.rows[-1])
    for row in run_children("ks-features", ["alibi-ks", "scipy-ks", "scipy-ks-sorted"], 1, args.timeout):
        report.rows.append(row)
        progress(report.workload, row)

    c = KS_FEATURES
    threshold = P_VAL / c["features"]
    drifttap = next((r for r in report.rows if r["tool"] == "drifttap" and ok(r)), None)
    alibi = next((r for r in report.rows if r["tool"] == "alibi-ks" and ok(r)), None)
    scipy = next((r for r in report.rows if r["tool"] == "scipy-ks" and ok(r)), None)
    pvals = {"drifttap": drifttap and drifttap["p_values"], "alibi": alibi and alibi["p_values"],
             "scipy": scipy and scipy["p_values"]}
    a = report.agreement
    dt_rows = [r for r in report.rows if r["tool"] == "drifttap" and ok(r)]
    if len({json.dumps(r["p_values"]) for r in dt_rows}) > 1:
        a.append("drifttap's p-values DIFFER between thread counts")
    for x, y in (("drifttap", "alibi"), ("drifttap", "scipy"), ("alibi", "scipy")):
        if pvals[x] and pvals[y]:
            diff = max(abs(p - q) if not (math.isnan(p) or math.isnan(q)) else math.inf
                       for p, q in zip(pvals[x], pvals[y]))
            a.append(f"max |p_{x} - p_{y}| over {c['features']} features = {diff:.3g}")
    verdicts = {}
    for name, p in pvals.items():
        if p:
            verdicts[name] = alibi["verdicts"] if name == "alibi" else [v < threshold for v in p]
    if verdicts:
        counts = ", ".join(f"{name} {sum(v)}" for name, v in verdicts.items())
        a.append(f"drifting features (p < {P_VAL}/{c['features']} = {threshold:g}, Bonferroni as "
                 f"KSDrift applies it): {counts} (features with f % 10 == 0 are shifted: "
                 f"{len(range(0, c['features'], 10))} expected)")
        names = list(verdicts)
        differing = sorted({f for i in range(len(names)) for j in range(i + 1, len(names))
                            for f in range(c["features"])
                            if verdicts[names[i]][f] != verdicts[names[j]][f]})
        same = "yes" if not differing else f"NO, they differ on features {differing}"
        a.append(f"per-feature verdicts identical across {', '.join(names)}: {same}")
    if alibi:
        a.append(f"alibi: is_drift = {alibi['is_drift']}, correction = {alibi['correction']!r}, "
                 f"threshold = {alibi['threshold']:g}, p-values are {alibi['p_dtype']}")
        for kwargs in alibi["ks_2samp_kwargs"]:
            a.append(f"alibi calls scipy.stats.ks_2samp(x_ref[:, f], x[:, f], **{kwargs}) "
                     f"(observed at run time)")
    sorted_row = next((r for r in report.rows if r["tool"] == "scipy-ks-sorted" and ok(r)), None)
    if scipy and sorted_row and sorted_row["p_values"] != scipy["p_values"]:
        a.append("scipy's p-values with a pre-sorted reference DIFFER from the unsorted ones")

    report.notes += [
        f"{c['features']} features, reference {c['n']} rows, window {c['m']} rows; timed: one call "
        f"over all features; drifttap best of 5, peers best of {KS_FEATURES_REPEATS}.",
        "drifttap's references are sorted once ahead of time (a compiled baseline), not timed; "
        "alibi-detect and scipy sort both samples of every feature on every call. The pre-sorted "
        "row passes sorted reference columns to scipy, which still sorts them.",
        "With 10 000 window rows and 100 000 reference rows every tool is on the asymptotic "
        "p-value path (scipy's 'auto' is exact only when both sizes are <= 10 000).",
    ]


def workload_ks_one(args, report: Report) -> None:
    report.rows.append(run_drifttap("ks-one", 1, args.timeout))
    progress(report.workload, report.rows[-1])
    for row in run_children("ks-one", ["scipy-ks", "scipy-ks-sorted"], 1, args.timeout):
        report.rows.append(row)
        progress(report.workload, row)
    drifttap = report.rows[0] if ok(report.rows[0]) else None
    for row in report.rows[1:]:
        if ok(row) and drifttap:
            report.agreement.append(
                f"{LABELS[row['tool']]}: statistic {fmt_float(row['statistic'])} "
                f"(drifttap {fmt_float(drifttap['statistic'])}, |diff| "
                f"{abs(row['statistic'] - drifttap['statistic']):.3g}); p-value "
                f"{fmt_float(row['p_value'])} (drifttap {fmt_float(drifttap['p_value'])}, |diff| "
                f"{abs(row['p_value'] - drifttap['p_value']):.3g}, relative "
                f"{rel_diff(row['p_value'], drifttap['p_value']):.3g})")
    report.notes += [
        f"reference {KS_ONE['n']} rows, window {KS_ONE['m']} rows (window mean shifted by 0.01), "
        f"two-sided, method 'auto' (asymptotic at these sizes); drifttap best of 5, scipy best of "
        f"{KS_ONE_REPEATS}; single-threaded.",
        "drifttap's reference is sorted once ahead of time (the product's design: the baseline is "
        "compiled once), not timed; scipy sorts the reference and the window on every call. The "
        "'ref pre-sorted' row hands scipy an already sorted reference, which it sorts again.",
    ]


def workload_mmd(args, report: Report) -> None:
    workload = report.workload
    c = MMD[workload]
    for t in args.threads:
        report.rows.append(run_drifttap(workload, t, args.timeout))
        progress(workload, report.rows[-1])
    for t in args.threads:
        row = run_children(workload, ["numpy-mmd"], t, args.timeout, set_blas_threads=True)[0]
        report.rows.append(row)
        progress(workload, row)
    run_alibi = not args.skip_alibi_mmd and (workload != "mmd-10k" or args.alibi_mmd_10k)
    if run_alibi:
        print(f"  [{workload}] alibi-detect MMDDrift: this takes minutes ...", flush=True)
        row = run_children(workload, ["alibi-mmd"], 1, args.timeout)[0]
        report.rows.append(row)
        progress(workload, row)

    alibi = next((r for r in report.rows if r["tool"] == "alibi-mmd" and ok(r)), None)
    base = alibi or next((r for r in report.rows if r["tool"] == "numpy-mmd" and ok(r)), None)
    a = report.agreement
    if base:
        base_name = "alibi" if alibi else "the numpy port (alibi not run)"
        a.append(f"relative differences against {base_name}; tolerance {MMD_REL_TOL:g}")
        for row in report.rows:
            if not ok(row):
                continue
            ds, dm = rel_diff(row["sigma"], base["sigma"]), rel_diff(row["statistic"], base["statistic"])
            verdict = "ok" if ds <= MMD_REL_TOL and dm <= MMD_REL_TOL else "MISMATCH"
            a.append(f"{LABELS[row['tool']]} ({row['threads']} thr): sigma {fmt_float(row['sigma'])} "
                     f"(rel {ds:.2g}), MMD² {fmt_float(row['statistic'])} (rel {dm:.2g}), "
                     f"p-value {row['p_value']:g}  [{verdict}]")
    numpy_rows = [r for r in report.rows if r["tool"] == "numpy-mmd" and ok(r)]
    for row in numpy_rows:
        if row.get("blas_threads") not in (None, row["threads"]):
            a.append(f"numpy port asked for {row['threads']} BLAS threads but ran with "
                     f"{row['blas_threads']}")
    report.notes += [
        f"n = m = {c['n']}, d = {c['d']}, {c['permutations']} permutations; each tool timed once.",
        "p-values come from different random permutations in each tool (drifttap: its seeded "
        "generator; numpy port: numpy default_rng(1); alibi: torch.randperm), so they agree only "
        "statistically; sigma and MMD² must agree.",
        "drifttap's timed call excludes reference preparation (bandwidth, and the reference-block "
        "sums of its fixed, seeded permutations), so it touches n·m + m²/2 kernel entries; "
        "alibi's excludes the bandwidth and K_xx (built at construction) but permutes the full "
        "(n+m)² matrix 100 times; the numpy port's excludes only the bandwidth and builds the "
        "full (n+m)² kernel matrix in float64, then one GEMM K @ S over all labellings.",
        "Threads: the numpy port's BLAS threads are set with OPENBLAS_NUM_THREADS; alibi runs "
        "with torch's default (torch.get_num_threads(), the 'threads' column).",
        "Peak RSS: VmHWM of each tool's own process, including data generation and reference "
        "preparation (and the Python interpreter, numpy and, for alibi, torch).",
    ]
    if not run_alibi:
        why = ("--skip-alibi-mmd" if args.skip_alibi_mmd
               else "skipped by default; --alibi-mmd-10k runs it: long, several GB")
        report.notes.append(f"alibi-detect MMDDrift not run ({why}).")


def markdown(reports: list[Report], command: str) -> str:
    lines = [f"Command: `{command}`", "",
             "| Workload | Tool | Threads | Seconds | Peer / drifttap | Peak RSS |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for report in reports:
        for row in report.rows:
            if not ok(row):
                lines.append(f"| {report.workload} | {LABELS[row['tool']]} | {row['threads']} | "
                             f"failed | | |")
                continue
            same, one = report.ratios(row)
            if row["tool"] == "drifttap":
                ratio = "—"
            elif same is not None:
                ratio = fmt_ratio(same).replace("x", "×")
            elif one is not None:
                ratio = fmt_ratio(one).replace("x", "×") + " (vs 1 thread)"
            else:
                ratio = "n/a"
            rss = fmt_rss(row.get("peak_rss_bytes")) if report.show_rss() else ""
            lines.append(f"| {report.workload} | {LABELS[row['tool']]} | {row['threads']} | "
                         f"{fmt_seconds(row['seconds'])} | {ratio} | {rss} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for package in ("numpy", "scipy", "torch", "alibi-detect"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} missing")
    return f"{cpu}, {os.cpu_count()} logical CPUs; Python {platform.python_version()}, " + ", ".join(versions)


def display_command() -> str:
    exe = sys.executable
    home = str(Path.home())
    if exe.startswith(home + os.sep):
        exe = "~" + exe[len(home):]
    script = Path(__file__).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return " ".join([exe, str(script)] + [shlex.quote(a) for a in sys.argv[1:]])


def parse_list(text: str, allowed=None) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if allowed is not None:
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {','.join(allowed)}")
    return items


def parse_threads(text: str) -> list[int]:
    try:
        threads = [int(item) for item in parse_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers") from None
    if not threads or min(threads) < 1:
        raise argparse.ArgumentTypeError("thread counts must be >= 1")
    return list(dict.fromkeys(threads))


def main() -> int:
    parser = argparse.ArgumentParser(
        description="drifttap against scipy, alibi-detect and a numpy port on identical data.")
    parser.add_argument("--workloads", type=lambda s: parse_list(s, WORKLOADS), default=WORKLOADS,
                        help="comma-separated subset of " + ",".join(WORKLOADS))
    parser.add_argument("--threads", type=parse_threads, default=[1, 2],
                        help="thread counts for drifttap and the numpy port (default 1,2)")
    parser.add_argument("--skip-alibi-mmd", action="store_true",
                        help="do not run alibi-detect's MMDDrift at all")
    parser.add_argument("--alibi-mmd-10k", action="store_true",
                        help="also run alibi-detect's MMDDrift on mmd-10k (long, several GB)")
    parser.add_argument("--quick", action="store_true",
                        help="ks-features, ks-one and mmd-5k without alibi's MMDDrift")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds allowed to each subprocess (default 1800)")
    parser.add_argument("--run-one", nargs=2, metavar=("WORKLOAD", "PEERS"), help=argparse.SUPPRESS)
    parser.add_argument("--child-threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run_one:
        try:
            return child_main(args.run_one[0], args.run_one[1], args.child_threads)
        except KeyboardInterrupt:
            return 130

    if args.quick:
        args.workloads = [w for w in ("ks-features", "ks-one", "mmd-5k")]
        args.skip_alibi_mmd = True
    workloads = [w for w in WORKLOADS if w in args.workloads]
    command = display_command()
    print(f"command: {command}")
    print(f"machine: {machine()}")
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at start: {load_start}")
    started = time.perf_counter()

    reports: list[Report] = []
    interrupted = False
    try:
        if not build():
            return 1
        for workload in workloads:
            print(f"running {workload} ...", flush=True)
            report = Report(workload)
            reports.append(report)
            if workload == "ks-features":
                workload_ks_features(args, report)
            elif workload == "ks-one":
                workload_ks_one(args, report)
            else:
                workload_mmd(args, report)
            report.print()
    except (Interrupted, KeyboardInterrupt):
        interrupted = True
        print("\ninterrupted; results so far (agreement checks of the unfinished workload are "
              "left out):", flush=True)
        if reports and reports[-1].rows:
            reports[-1].print()

    backends = sorted({row["backend"] for r in reports for row in r.rows
                       if row["tool"] == "drifttap" and "backend" in row})
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print()
    print(f"load average at end: {load_end}; total {time.perf_counter() - started:.0f} s; "
          f"drifttap backend: {', '.join(backends) or '?'}")
    print()
    print("markdown:")
    print()
    print(markdown(reports, command))
    print()
    print(f"Machine: {machine()}; drifttap backend {', '.join(backends) or '?'}; load average "
          f"(1, 5, 15 min) {load_start} at the start, {load_end} at the end.")
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
