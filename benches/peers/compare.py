#!/usr/bin/env python3
"""Side-by-side timings: drifttap against scipy, alibi-detect, a numpy port, Evidently and NannyML.

Run from the repository root, with the peers environment (see `benches/peers/README.md`):

    ~/.cache/drifttap/peers-venv/bin/python benches/peers/compare.py [options]

Options:

    --workloads LIST   comma-separated subset of ks-features,ks-one,mmd-5k,mmd-10k,check-e2e
                       (default: all)
    --threads LIST     thread counts for drifttap and the numpy port (default: 1,2)
    --skip-alibi-mmd   leave alibi-detect's MMDDrift out of every MMD workload
    --alibi-mmd-10k    also run alibi-detect's MMDDrift on mmd-10k (several times as long as on
                       mmd-5k, several GB of memory); it is skipped by default
    --quick            ks-features, ks-one, mmd-5k without MMDDrift, and check-e2e with one
                       Evidently run and neither Evidently's whole-process timing nor NannyML
                       (about a minute and a half); with --workloads, only those
    --timeout SECONDS  limit for each subprocess (default 1800)
    --data-dir DIR     where check-e2e keeps its Parquet files (default ~/.cache/drifttap/peers-data;
                       written by tabular.py on first use)
    --evidently-python PYTHON, --nannyml-python PYTHON
                       interpreters for the check-e2e peers (defaults: $DRIFTTAP_EVIDENTLY_PYTHON
                       or this interpreter; $DRIFTTAP_NANNYML_PYTHON or
                       ~/.cache/drifttap/peers-nannyml-venv/bin/python when it exists)
    --skip-nannyml     leave NannyML out of check-e2e
    --e2e-repeats N, --e2e-peer-repeats N
                       timed runs of drifttap check (default 7) and of each peer (default 3)

The script first builds drifttap's side, `cargo build --release --example peer_timings`
(`benches/peers/timings.rs`) and, for check-e2e, `--bin drifttap`, then for each workload runs
drifttap and the peers as separate subprocesses on the same data (`synth` data bit-identical to
drifttap's generator; for check-e2e the Parquet files of `tabular.py`), and prints one table per
workload: seconds, peer time / drifttap time at the same thread count and at one thread, peak RSS
for the MMD and check-e2e workloads, and agreement checks. A compact markdown table with the
command line comes last. A failing or missing peer is reported in its table and does not stop
the run; Ctrl-C stops it and prints what was measured so far. A default run takes about 6 to 8
minutes on two cores, most of it alibi-detect's MMDDrift on mmd-5k (90 to 270 s, depending on
how busy the machine is) and check-e2e (about 80 s).

What is timed in the kernel workloads is the call a user times: data generation and reference
preparation are not. drifttap's reference is sorted (KS) or prepared (MMD: bandwidth and
reference-block sums) ahead of time; alibi-detect's detectors are constructed ahead of time
(MMDDrift computes the bandwidth and K_xx then); scipy receives raw arrays and sorts them on every
call. check-e2e times whole jobs instead: the `drifttap check` process from start to exit against
Evidently's and NannyML's read-compute-write sequence in process (imports excluded) and, for
Evidently, as a whole `python -c` process. The footnotes under each table say what each number
includes.

The kernel workloads and data recipes mirror `benches/peers/timings.rs`; change both or neither.
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
WORKLOADS = ["ks-features", "ks-one", "mmd-5k", "mmd-10k", "check-e2e"]
QUICK_WORKLOADS = ["ks-features", "ks-one", "mmd-5k", "check-e2e"]
P_VAL = 0.05
KS_FEATURES_REPEATS = 3
KS_ONE_REPEATS = 5
NUMPY_MMD_SEED = 1
MMD_REL_TOL = 1e-6
RESULT_TAG = "@@compare-result "
E2E_REPEATS = 7  # drifttap check, whole process (after one untimed run)
E2E_PEER_REPEATS = 3  # Evidently and NannyML, in process and as a whole process
E2E_PHASE_REPEATS = 5  # drifttap check --tests ks / chi2 / mmd
E2E_TARGET = 50  # drifttap's goal: at least this many times faster than Evidently in process
DEFAULT_DATA_DIR = Path.home() / ".cache" / "drifttap" / "peers-data"
NANNYML_VENV_PYTHON = Path.home() / ".cache" / "drifttap" / "peers-nannyml-venv" / "bin" / "python"


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


# --- check-e2e: Evidently and NannyML on the Parquet files of `tabular.py` ---------------------
#
# Each peer runs a user's script: the imports once, then the body (read both files, run the
# report, write its JSON). The in-process time is the body alone; the whole-process time runs
# the same statements with `python -c` (`EVIDENTLY_ARGS + EVIDENTLY_IMPORTS + EVIDENTLY_BODY`).

EVIDENTLY_ARGS = """\
import sys
reference_path, current_path, output_path = sys.argv[1:4]
numeric, categorical = sys.argv[4].split(","), sys.argv[5].split(",")
"""
EVIDENTLY_IMPORTS = """\
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
"""
EVIDENTLY_BODY = """\
definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
reference = Dataset.from_pandas(pd.read_parquet(reference_path), data_definition=definition)
current = Dataset.from_pandas(pd.read_parquet(current_path), data_definition=definition)
Report([DataDriftPreset()]).run(current, reference).save_json(output_path)
"""
NANNYML_IMPORTS = """\
import pandas as pd
import nannyml as nml
"""
NANNYML_BODY = """\
reference = pd.read_parquet(reference_path)
current = pd.read_parquet(current_path)
calculator = nml.UnivariateDriftCalculator(
    column_names=numeric + categorical, treat_as_categorical=categorical,
    continuous_methods=["kolmogorov_smirnov"], categorical_methods=["chi2"],
    chunk_size=len(current), computation_params=computation_params)
calculator.fit(reference)
results = calculator.calculate(current)
results.filter(period="analysis").to_df().to_json(output_path)
"""
PEER_ENV = {"DO_NOT_TRACK": "1", "NML_DISABLE_USAGE_LOGGING": "1"}  # no usage analytics


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def e2e_namespace(data_dir: Path, out_dir: Path) -> dict:
    import tabular

    reference_path, current_path = tabular.paths(data_dir)
    return {"reference_path": str(reference_path), "current_path": str(current_path),
            "numeric": list(tabular.NUMERIC), "categorical": list(tabular.CATEGORICAL),
            "output_path": str(out_dir / "peer.json")}


def timed_body(namespace: dict, body: str, repeats: int, name: str, out_dir: Path, after=None):
    """Runs the compiled `body` `repeats` times in `namespace`; returns the seconds of each."""
    code = compile(body, f"<{name}>", "exec")
    times = []
    for i in range(repeats):
        namespace["output_path"] = str(out_dir / f"{name}-{i}.json")
        start = time.perf_counter()
        exec(code, namespace)
        times.append(time.perf_counter() - start)
        if after is not None:
            after(namespace)
    return times


def evidently_values(path: str) -> dict:
    """Per column of an Evidently 0.7 snapshot JSON: the drift method, its value and threshold."""
    with open(path) as f:
        snapshot = json.load(f)
    columns, drifted = {}, None
    for metric in snapshot["metrics"]:
        config = metric.get("config", {})
        kind = config.get("type", "")
        if kind.endswith(":ValueDrift"):
            columns[config["column"]] = {"method": config.get("method"), "value": metric["value"],
                                         "threshold": config.get("threshold")}
        elif kind.endswith(":DriftedColumnsCount"):
            drifted = metric["value"]
    return {"columns": columns, "drifted": drifted}


def child_e2e_evidently(data_dir: Path, out_dir: Path, repeats: int, light: bool) -> None:
    def body():
        quiet_imports()
        namespace = e2e_namespace(data_dir, out_dir)
        start = time.perf_counter()
        exec(EVIDENTLY_IMPORTS, namespace)
        import_seconds = time.perf_counter() - start
        times = timed_body(namespace, EVIDENTLY_BODY, repeats, "evidently", out_dir)
        result = {"seconds": median(times), "min_seconds": min(times), "times": times,
                  "import_seconds": import_seconds, "threads": 1,
                  "peak_rss_bytes": peak_rss_bytes(), "version": metadata.version("evidently")}
        result.update(evidently_values(namespace["output_path"]))
        if light:
            return result

        # Untimed: the roles Evidently infers without a DataDefinition, ...
        import numpy as np
        import pandas as pd
        from evidently import Dataset, Report
        from evidently.presets import DataDriftPreset
        from scipy.stats import chi2_contingency

        reference = pd.read_parquet(namespace["reference_path"])
        current = pd.read_parquet(namespace["current_path"])
        inferred = Dataset.from_pandas(reference).data_definition
        result["inferred"] = {"numerical": list(inferred.numerical_columns or []),
                              "categorical": list(inferred.categorical_columns or [])}
        # ... Evidently's KS and chi-square p-values (num_method="ks", cat_method="chisquare") ...
        definition = namespace["definition"]
        snapshot = Report([DataDriftPreset(num_method="ks", cat_method="chisquare")]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition))
        tests_path = str(out_dir / "evidently-ks-chisquare.json")
        snapshot.save_json(tests_path)
        tests = evidently_values(tests_path)
        result["tests"], result["tests_drifted"] = tests["columns"], tests["drifted"]
        # ... and scipy's chi2_contingency on each categorical column's counts (nulls dropped).
        scipy_chi2 = {}
        for column in namespace["categorical"]:
            counts = pd.concat([reference[column].value_counts(), current[column].value_counts()],
                               axis=1).fillna(0).to_numpy(dtype=np.float64)
            counts = counts[counts.sum(axis=1) > 0]  # unused dictionary entries
            res = chi2_contingency(counts.T)
            scipy_chi2[column] = {"statistic": float(res.statistic), "p_value": float(res.pvalue),
                                  "categories": int(counts.shape[0])}
        result["scipy_chi2"] = scipy_chi2
        return result

    run_peer("evidently", body)


def child_e2e_nannyml(data_dir: Path, out_dir: Path, repeats: int) -> None:
    def body():
        quiet_imports()
        namespace = e2e_namespace(data_dir, out_dir)
        namespace["computation_params"] = None  # NannyML's defaults
        start = time.perf_counter()
        exec(NANNYML_IMPORTS, namespace)
        import_seconds = time.perf_counter() - start
        p_values = {}

        def chi2_p_values(ns):
            # NannyML keeps the last chunk's chi2 p-value on the method object (the current data
            # is one chunk); its result table has the statistic and the alert only.
            mapping = getattr(ns["calculator"], "_column_to_models_mapping", {})
            for column in ns["categorical"]:
                for method in mapping.get(column, []):
                    if hasattr(method, "_p_value"):
                        p_values[column] = float(method._p_value)

        times = timed_body(namespace, NANNYML_BODY, repeats, "nannyml", out_dir, chi2_p_values)

        def values(results) -> dict:
            df = results.filter(period="analysis").to_df()
            out = {}
            for column in namespace["numeric"] + namespace["categorical"]:
                method = "chi2" if column in namespace["categorical"] else "kolmogorov_smirnov"
                out[column] = {"method": method,
                               "value": float(df[(column, method, "value")].iloc[0]),
                               "alert": bool(df[(column, method, "alert")].iloc[0])}
            return out

        result = {"seconds": median(times), "min_seconds": min(times), "times": times,
                  "import_seconds": import_seconds, "threads": 1,
                  "peak_rss_bytes": peak_rss_bytes(), "version": metadata.version("nannyml"),
                  "columns": values(namespace["results"]), "chi2_p_values": p_values,
                  "pandas": metadata.version("pandas"), "numpy": metadata.version("numpy")}
        # Untimed: fit and calculate separately, and the KS statistic on the raw samples.
        import nannyml as nml

        reference = namespace["reference"]
        current = namespace["current"]
        split = {}
        # NannyML 0.13.1's KS method looks for the key "kolmogorov_smirnov" in
        # computation_params but then reads "calculation_method" from the top level of the dict;
        # both are given, and the method actually used is checked below.
        exact = {"kolmogorov_smirnov": {"calculation_method": "exact"}, "calculation_method": "exact"}
        for name, params in (("default", None), ("exact", exact)):
            calculator = nml.UnivariateDriftCalculator(
                column_names=namespace["numeric"] + namespace["categorical"],
                treat_as_categorical=namespace["categorical"],
                continuous_methods=["kolmogorov_smirnov"], categorical_methods=["chi2"],
                chunk_size=len(current), computation_params=params)
            start = time.perf_counter()
            calculator.fit(reference)
            fitted = time.perf_counter()
            results = calculator.calculate(current)
            split[name] = {"fit": fitted - start, "calculate": time.perf_counter() - fitted}
            if name == "exact":
                used = {getattr(m, "calculation_method", None)
                        for c in namespace["numeric"]
                        for m in calculator._column_to_models_mapping.get(c, [])}
                result["exact_ks"] = {c: v["value"] for c, v in values(results).items()
                                      if v["method"] == "kolmogorov_smirnov"}
                result["exact_ks_method"] = sorted(str(u) for u in used)
        result["split"] = split
        return result

    run_peer("nannyml", body)


def child_e2e(peers: list[str], data_dir: Path, out_dir: Path, repeats: int, light: bool) -> None:
    for peer in peers:
        if peer == "evidently":
            child_e2e_evidently(data_dir, out_dir, repeats, light)
        elif peer == "nannyml":
            child_e2e_nannyml(data_dir, out_dir, repeats)


def child_main(workload: str, peers: str, threads: int, args) -> int:
    peer_list = peers.split(",")
    if workload == "check-e2e":
        child_e2e(peer_list, Path(args.data_dir), Path(args.child_out), args.child_repeats,
                  args.child_light)
    elif workload == "ks-features":
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
    "drifttap-compiled": "drifttap check, compiled baseline",
    "evidently": "Evidently DataDriftPreset, in process",
    "evidently-process": "Evidently DataDriftPreset, whole process",
    "nannyml": "NannyML UnivariateDriftCalculator, in process",
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


def build(workloads: list[str]) -> bool:
    cmd = ["cargo", "build", "--release"]
    if any(w != "check-e2e" for w in workloads):
        cmd += ["--example", "peer_timings"]
    if "check-e2e" in workloads:
        cmd += ["--bin", "drifttap"]
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
    return "error" not in row and "skipped" not in row and row.get("seconds") is not None


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
        return self.workload.startswith("mmd") or self.workload == "check-e2e"

    def show_min(self) -> bool:
        return self.workload == "check-e2e"

    def print(self) -> None:
        print()
        print(f"=== {self.workload} ===")
        headers = ["tool", "threads", "median s" if self.show_min() else "seconds"]
        if self.show_min():
            headers.append("min s")
        headers += ["vs drifttap same threads", "vs drifttap 1 thread"]
        if self.show_rss():
            headers.append("peak RSS")
        table = []
        for row in self.rows:
            same, one = self.ratios(row)
            own = row["tool"].startswith("drifttap")
            cells = [LABELS[row["tool"]], str(row["threads"]), fmt_seconds(row.get("seconds"))]
            if self.show_min():
                cells.append(fmt_seconds(row.get("min_seconds")))
            cells += ["-" if own else fmt_ratio(same), fmt_ratio(one)]
            if self.show_rss():
                cells.append(fmt_rss(row.get("peak_rss_bytes")))
            if not ok(row):
                cells[2:] = ["SKIPPED" if "skipped" in row else "FAILED"] + ["-"] * (len(cells) - 3)
            table.append(cells)
        widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
        print("  ".join("-" * w for w in widths))
        for cells in table:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(cells, widths))))
        failures = [row for row in self.rows if not ok(row)]
        for row in failures:
            if "skipped" in row:
                print(f"SKIPPED {LABELS[row['tool']]}: {row['skipped']}")
            else:
                print(f"FAILED {LABELS[row['tool']]} ({threads_text(row['threads'])}): "
                      f"{row.get('error')}")
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
        if "min_seconds" in row:
            what = f"median {what}, min {fmt_seconds(row['min_seconds'])} s"
    elif "skipped" in row:
        what = "skipped: " + row["skipped"]
    else:
        what = "FAILED: " + (str(row.get("error")).splitlines() or ["?"])[-1]
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


# --- check-e2e ------------------------------------------------------------------------------------


def drifttap_binary() -> Path:
    return binary_path().parents[1] / "drifttap"


def timed_process(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    """Runs `cmd` once and measures its wall-clock time (start to exit) and peak RSS.

    Output goes to temporary files, so the parent only waits (`os.wait4`, which also returns the
    child's resource usage) and never reads a pipe while the clock runs."""
    import tempfile
    import threading

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env)
        except OSError as exc:
            return {"error": f"could not start: {exc}"}
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
            raise Interrupted() from None
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = {"seconds": seconds, "rc": rc, "peak_rss_bytes": usage.ru_maxrss * 1024,
                  "stdout": out.read().decode(errors="replace"),
                  "stderr": err.read().decode(errors="replace")}
    if rc in (-2, 130):
        raise Interrupted()
    if rc in (-9, 137) and seconds >= timeout:
        result["error"] = f"timed out after {timeout:.0f} s"
    return result


def repeat_process(cmd: list[str], repeats: int, timeout: float, ok_codes=(0,), warmup: bool = False,
                   env: dict | None = None) -> dict:
    """Median and minimum wall-clock seconds of `repeats` runs of `cmd` (after one untimed run
    when `warmup`), with the largest peak RSS; an `error` at the first failing run."""
    times, rss = [], 0
    for i in range(repeats + int(warmup)):
        run = timed_process(cmd, timeout, env)
        if "error" not in run and run["rc"] not in ok_codes:
            run["error"] = f"exit status {run['rc']}: {tail(run['stderr']) or tail(run['stdout'])}"
        if "error" in run:
            return {"error": run["error"]}
        if warmup and i == 0:
            continue
        times.append(run["seconds"])
        rss = max(rss, run["peak_rss_bytes"])
    return {"seconds": median(times), "min_seconds": min(times), "times": times,
            "peak_rss_bytes": rss}


def drifttap_help(binary: Path, *subcommand: str) -> str | None:
    try:
        proc = subprocess.run([str(binary), *subcommand, "--help"], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def drifttap_check_row(binary: Path, reference: Path, current: Path, out_dir: Path, threads,
                       repeats: int, timeout: float, tool: str = "drifttap", extra=()) -> dict:
    output = out_dir / f"{tool}-{threads or 'default'}.json"
    cmd = [str(binary), "check", str(reference), str(current), "--format", "json",
           "--output", str(output), *extra]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    shown = ["target/release/drifttap"] + [display_path(c) for c in cmd[1:]]
    row = {"tool": tool, "threads": threads or 1, "command": shlex.join(shown)}
    # exit status 1 means "drift found", which this data set has
    row.update(repeat_process(cmd, repeats, timeout, ok_codes=(0, 1), warmup=True))
    if ok(row):
        try:
            with open(output) as f:
                row["report"] = parse_json_line(f.read())
        except (OSError, ValueError) as exc:
            row["error"] = f"unreadable report {output}: {exc}"
    return row


DURATION_UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_duration(text: str) -> float | None:
    """Seconds from a Rust `Duration` debug string (`31.2ms`, `850µs`, `1.5s`)."""
    match = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s)", text.strip())
    return float(match.group(1)) * DURATION_UNITS[match.group(2)] if match else None


def drifttap_log(cmd: list[str], timeout: float) -> tuple[str | None, list[tuple[str, float]]]:
    """One untimed run with `DRIFTTAP_LOG=debug`: the SIMD backend and the elapsed time of each
    logged step, from drifttap's JSON log lines on stderr (absent from builds that log nothing)."""
    run = timed_process(cmd, timeout, dict(os.environ, DRIFTTAP_LOG="debug"))
    backend, steps = None, []
    for line in run.get("stderr", "").splitlines():
        try:
            fields = json.loads(line).get("fields", {})
        except (ValueError, AttributeError):
            continue
        backend = fields.get("backend", backend)
        elapsed = parse_duration(str(fields.get("elapsed", "")))
        if elapsed is not None and fields.get("message"):
            steps.append((str(fields["message"]), elapsed))
    return backend, steps


def display_path(text: str) -> str:
    home = str(Path.home())
    return "~" + text[len(home):] if text.startswith(home + os.sep) else text


def peer_python(option: str | None, env_var: str, default: Path | None) -> str | None:
    if option:
        return option
    if os.environ.get(env_var):
        return os.environ[env_var]
    if default is None:
        return sys.executable
    return str(default) if default.exists() else None


def run_e2e_child(python: str, peer: str, args, out_dir: Path) -> dict:
    env = dict(os.environ, **PEER_ENV)
    cmd = [python, str(Path(__file__).resolve()), "--run-one", "check-e2e", peer,
           "--data-dir", str(args.data_dir), "--child-out", str(out_dir),
           "--child-repeats", str(args.e2e_peer_repeats)] + (["--child-light"] if args.quick else [])
    out, error = run_process(cmd, args.timeout, env)
    for line in out.splitlines():
        if line.startswith(RESULT_TAG):
            row = json.loads(line[len(RESULT_TAG):])
            row["tool"] = peer
            row.setdefault("threads", 1)
            return row
    return {"tool": peer, "threads": 1, "error": error or "no result"}


def by_name(report: dict) -> dict:
    return {f["name"]: f for f in report.get("features", [])}


def workload_check_e2e(args, report: Report) -> None:
    import shutil
    import tempfile

    import tabular

    # Written by a subprocess, so that this process (whose memory every child inherits until it
    # execs, and which the kernel counts in the child's peak RSS) stays small.
    out, error = run_process([sys.executable, str(HERE / "tabular.py"), str(args.data_dir)],
                             args.timeout)
    if error is not None:  # e.g. pyarrow missing from this interpreter
        report.rows.append({"tool": "drifttap", "threads": 1,
                            "error": f"the Parquet files could not be written (tabular.py needs "
                                     f"numpy and pyarrow, see requirements.txt): {error}"})
        return
    reference, current = tabular.paths(Path(args.data_dir))
    numeric, categorical = tabular.NUMERIC, tabular.CATEGORICAL
    out_dir = Path(tempfile.mkdtemp(prefix="drifttap-check-e2e-"))
    try:
        _workload_check_e2e(args, report, reference, current, numeric, categorical, out_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def _workload_check_e2e(args, report, reference, current, numeric, categorical, out_dir) -> None:
    import tabular

    notes = report.notes
    binary = drifttap_binary()
    help_text = drifttap_help(binary, "check") or ""
    thread_list = args.threads if "--threads" in help_text else [None]
    for t in thread_list:
        row = drifttap_check_row(binary, reference, current, out_dir, t, args.e2e_repeats,
                                 args.timeout)
        report.rows.append(row)
        progress(report.workload, row)
    # Where one run spends its time, by drifttap's own log (an extra, untimed run).
    log_cmd = [str(binary), "check", str(reference), str(current), "--format", "json", "--output",
               str(out_dir / "logged.json")] + (["--threads", "1"] if thread_list[0] else [])
    backend, steps = drifttap_log(log_cmd, args.timeout)
    for row in report.rows:
        if backend and row["tool"] == "drifttap":
            row["backend"] = backend
    if steps:
        notes.append("drifttap's log of one more run (1 thread; time since start at each step): " +
                     ", ".join(f"{message} {fmt_ms(elapsed)}" for message, elapsed in steps) +
                     "; process start and the JSON output come on top.")
    # A compiled baseline (`drifttap baseline build`), when this build has one: built untimed.
    if drifttap_help(binary, "baseline", "build") is not None:
        baseline = out_dir / "baseline"
        cmd = [str(binary), "baseline", "build", str(reference), "--output", str(baseline)]
        build_run = timed_process(cmd, args.timeout)
        if "error" not in build_run and build_run["rc"] != 0:
            build_run["error"] = f"exit status {build_run['rc']}: {tail(build_run['stderr'])}"
        for t in thread_list:
            if "error" in build_run:
                row = {"tool": "drifttap-compiled", "threads": t or 1,
                       "error": f"baseline build: {build_run['error']}"}
            else:
                row = drifttap_check_row(binary, baseline, current, out_dir, t, args.e2e_repeats,
                                         args.timeout, tool="drifttap-compiled")
            report.rows.append(row)
            progress(report.workload, row)
        if "error" not in build_run:
            notes.append(f"`drifttap baseline build` of the reference (untimed above): "
                         f"{build_run['seconds']:.3f} s, one run.")

    # Evidently: in process (a), then the whole `python -c` process (b).
    evidently_python = peer_python(args.evidently_python, "DRIFTTAP_EVIDENTLY_PYTHON", None)
    print(f"  [{report.workload}] Evidently ({display_path(evidently_python)}): this takes about "
          f"a minute ...", flush=True)
    evidently = run_e2e_child(evidently_python, "evidently", args, out_dir)
    report.rows.append(evidently)
    progress(report.workload, evidently)
    script = EVIDENTLY_ARGS + EVIDENTLY_IMPORTS + EVIDENTLY_BODY
    cmd = [evidently_python, "-c", script, str(reference), str(current),
           str(out_dir / "evidently-process.json"), ",".join(numeric), ",".join(categorical)]
    process_row = {"tool": "evidently-process", "threads": 1}
    if args.quick:
        process_row["skipped"] = "--quick"
    elif ok(evidently):
        process_row.update(repeat_process(cmd, args.e2e_peer_repeats, args.timeout,
                                          env=dict(os.environ, **PEER_ENV)))
    else:
        process_row["error"] = "not run: the in-process run failed"
    report.rows.append(process_row)
    progress(report.workload, process_row)

    # NannyML, from its own environment when there is one.
    nannyml = None
    if args.skip_nannyml or args.quick:
        report.rows.append({"tool": "nannyml", "threads": 1,
                            "skipped": "--quick" if args.quick else "--skip-nannyml"})
    else:
        python = peer_python(args.nannyml_python, "DRIFTTAP_NANNYML_PYTHON", NANNYML_VENV_PYTHON)
        if python is None:
            report.rows.append({"tool": "nannyml", "threads": 1, "skipped": (
                f"no NannyML environment: {display_path(str(NANNYML_VENV_PYTHON))} does not exist "
                f"(benches/peers/README.md; or --nannyml-python)")})
        else:
            nannyml = run_e2e_child(python, "nannyml", args, out_dir)
            report.rows.append(nannyml)
        progress(report.workload, report.rows[-1])
        nannyml = nannyml if nannyml and ok(nannyml) else None

    for row, name in ((evidently, "Evidently"), (nannyml, "NannyML")):
        if row and ok(row):
            runs = ", ".join(f"{t:.2f}" for t in row["times"])
            notes.append(f"{name} {row.get('version')}: imports {row['import_seconds']:.2f} s "
                         f"(not in the in-process time), in-process runs {runs} s in order.")
    e2e_agreement(report, numeric, categorical, evidently if ok(evidently) else None, nannyml)
    dt = next((r for r in report.rows if r["tool"] == "drifttap" and ok(r)), None)

    # Phases: each test alone, as a whole process (1 thread).
    if dt is not None:
        phases = []
        for test in ("ks", "chi2", "mmd"):
            row = drifttap_check_row(binary, reference, current, out_dir, thread_list[0],
                                     E2E_PHASE_REPEATS, args.timeout, tool=f"phase-{test}",
                                     extra=("--tests", test))
            phases.append(f"--tests {test} {fmt_ms(row.get('seconds')) if ok(row) else 'failed'}")
        notes.append(f"drifttap by test ({threads_text(dt['threads'])}, whole process each, median "
                     f"of {E2E_PHASE_REPEATS}): " + ", ".join(phases) +
                     f"; all three {fmt_ms(dt['seconds'])}. Each is a whole run, reading and "
                     f"compiling the reference included.")

    # What each number includes.
    ev_label = "Evidently"
    notes += [
        f"Data: tabular.py recipe {tabular.RECIPE}: reference {tabular.REFERENCE_ROWS} rows, "
        f"current {tabular.CURRENT_ROWS} rows, {len(numeric)} numeric columns (int64, float64, "
        f"float32) and {len(categorical)} categorical (string, one dictionary-encoded); nulls in "
        f"{', '.join(tabular.NULL_COLUMNS)}; drifting: {', '.join(tabular.DRIFTING)}. Files: "
        f"{display_path(str(reference))}, {display_path(str(current))}.",
        f"drifttap: `drifttap check REF CUR --format json --output FILE` as a whole process "
        f"(start, Parquet read, KS/chi2 per column, Wasserstein, PSI, JS, MMD on 14 columns with "
        f"100 permutations, JSON written); one untimed run, then median and min of "
        f"{args.e2e_repeats}.",
        f"{ev_label} in process: `pd.read_parquet` x2, `Dataset.from_pandas` x2 with a "
        f"DataDefinition giving drifttap's roles, `Report([DataDriftPreset()]).run(current, "
        f"reference).save_json(FILE)`; imports excluded; median and min of "
        f"{args.e2e_peer_repeats} runs in one process (the first includes lazy imports).",
        f"{ev_label} whole process: the same statements with their imports as `python -c`, "
        f"median and min of {args.e2e_peer_repeats}.",
        "NannyML in process: `pd.read_parquet` x2, `UnivariateDriftCalculator(continuous_methods="
        "['kolmogorov_smirnov'], categorical_methods=['chi2'], chunk_size=10000)`, `fit(reference)`"
        " (the reference in 10 chunks, for its thresholds), `calculate(current)` (one chunk), the "
        "result table written as JSON; imports excluded.",
        "Peak RSS: drifttap and the whole Evidently process from wait4; the in-process rows are "
        "their process's VmHWM (interpreter and libraries included).",
    ]


JS_BASE_FACTOR = math.sqrt(math.log(2.0))  # JS distance in nats = JS distance in bits x this


def fmt_ms(s) -> str:
    if s is None or not math.isfinite(s):
        return "-"
    return f"{s * 1000:.0f} ms" if s >= 0.1 else f"{s * 1000:.1f} ms"


def fmt_p(p) -> str:
    return "n/a" if p is None else f"{p:.3g}"


def p_diff(p, q) -> tuple[float, float]:
    """Absolute difference and relative difference of two p-values (0 when both are 0)."""
    if p is None or q is None:
        return math.nan, math.nan
    return abs(p - q), rel_diff(p, q)


def e2e_agreement(report: Report, numeric, categorical, evidently, nannyml) -> None:
    a = report.agreement
    runs = [r for r in report.rows if r["tool"] == "drifttap" and ok(r)]
    if not runs:
        return
    dt = by_name(runs[0]["report"])
    base = runs[0]["report"]
    if len(runs) > 1:
        same = all(json.dumps(r["report"].get("features")) == json.dumps(base.get("features")) and
                   json.dumps(r["report"].get("multivariate")) == json.dumps(base.get("multivariate"))
                   for r in runs[1:])
        a.append(f"drifttap's reports at {', '.join(str(r['threads']) for r in runs)} threads "
                 f"identical (features and MMD): {'yes' if same else 'NO'}")
    compiled = [r for r in report.rows if r["tool"] == "drifttap-compiled" and ok(r)]
    if compiled:
        cf = by_name(compiled[0]["report"])
        fields = ("statistic", "p_value", "wasserstein_normed", "psi", "jensen_shannon")
        worst = max((rel_diff(dt[c][k], cf[c][k]) for c in dt if c in cf for k in fields
                     if dt[c].get(k) is not None and cf[c].get(k) is not None), default=math.nan)
        same_verdicts = all(dt[c]["drift"] == cf[c]["drift"] for c in dt if c in cf)
        a.append(f"compiled baseline vs raw Parquet reference: per-feature values within relative "
                 f"{worst:.2g}, verdicts identical: {'yes' if same_verdicts else 'NO'}")
    missing = [c for c in list(numeric) + list(categorical) if c not in dt]
    if missing:
        a.append(f"drifttap's report LACKS columns {missing}")
    threshold = base.get("threshold")
    drifting = [c for c in dt if dt[c].get("drift")]
    mv = base.get("multivariate") or {}
    a.append(f"drifttap: {len(drifting)} of {len(dt)} features drift ({base.get('correction')} "
             f"threshold {threshold:.3g}): {', '.join(drifting)}; MMD p = {mv.get('p_value')} "
             f"(MMD² {mv.get('statistic', math.nan):.4g}, {len(mv.get('features', []))} features)")

    if evidently:
        ev = evidently["columns"]
        a.append(f"Evidently {evidently.get('version')} DataDriftPreset, default methods (more "
                 f"than 1000 reference rows): normed Wasserstein for numeric columns, "
                 f"Jensen-Shannon distance for categorical ones; drift when value >= 0.1.")
        inferred = evidently.get("inferred")
        if inferred is not None:
            same_roles = (sorted(inferred.get("numerical", [])) == sorted(numeric) and
                          sorted(inferred.get("categorical", [])) == sorted(categorical))
            a.append(f"Evidently's own type inference (no DataDefinition) gives the same roles: "
                     f"{'yes' if same_roles else 'NO: ' + json.dumps(inferred)}")
        a.append(f"  {'column':<14} {'Evidently method':<22} {'Evidently':>11} {'as drifttap':>11} "
                 f"{'drifttap':>11} {'|diff|':>8}  verdicts (Evidently / drifttap, drifttap's test)")
        w_diffs, js_diffs, js_raw = [], [], []
        disagree = []
        for column in list(numeric) + list(categorical):
            e, d = ev.get(column), dt.get(column)
            if e is None or d is None:
                a.append(f"  {column:<14} missing on one side (Evidently {e is not None}, "
                         f"drifttap {d is not None})")
                continue
            method = e["method"] or "?"
            value = e["value"]
            if "Wasserstein" in method:
                ours = d.get("wasserstein_normed")
                comparable = value
                method = "Wasserstein (normed)"
                if ours is not None:
                    w_diffs.append((abs(value - ours), rel_diff(value, ours), column))
            elif "Jensen" in method:
                ours = d.get("jensen_shannon")
                comparable = value / JS_BASE_FACTOR  # Evidently's nats as bits, drifttap's base
                method = "Jensen-Shannon (nats)"
                if ours is not None:
                    js_diffs.append((abs(comparable - ours), column))
                    js_raw.append(abs(value - ours))
            else:
                ours, comparable = None, value
            diff = abs(comparable - ours) if ours is not None else math.nan
            ev_drift = bool(value >= (e.get("threshold") or 0.1))
            if ev_drift != bool(d.get("drift")):
                disagree.append(column)
            ours_text = "n/a" if ours is None else f"{ours:.6g}"
            a.append(f"  {column:<14} {method:<22} {value:11.6g} {comparable:11.6g} {ours_text:>11} "
                     f"{diff:8.2g}  {'drift' if ev_drift else '-'} / "
                     f"{'drift' if d.get('drift') else '-'}, {d.get('test')} p "
                     f"{fmt_p(d.get('p_value'))}")
        if w_diffs:
            import tabular

            for group, label in ((False, "int64 and float64"), (True, "float32")):
                diffs = [d for d in w_diffs if (d[2] in tabular.FLOAT32) == group]
                if not diffs:
                    continue
                worst = max(diffs)
                worst_rel = max(diffs, key=lambda x: x[1])
                a.append(f"normed Wasserstein, {len(diffs)} {label} columns: max |Evidently - "
                         f"drifttap| = {worst[0]:.3g} ({worst[2]}), max relative "
                         f"{worst_rel[1]:.3g} ({worst_rel[2]})")
            a.append("  (Evidently divides scipy's wasserstein_distance, computed in float64, by "
                     "np.std of the reference Series, which numpy reduces in float32 for a float32 "
                     "column: a relative error of about 1e-8 there; drifttap reads float32 as f64 "
                     "and computes everything in f64)")
        if js_diffs:
            worst = max(js_diffs)
            a.append(f"Jensen-Shannon, {len(js_diffs)} categorical columns: Evidently calls "
                     f"scipy's jensenshannon without a base (natural log), drifttap reports base 2, "
                     f"so Evidently's value = drifttap's x sqrt(ln 2) = x {JS_BASE_FACTOR:.6f}; "
                     f"after that conversion max |diff| = {worst[0]:.3g} ({worst[1]}); unconverted "
                     f"{max(js_raw):.3g}. Evidently's 0.1 threshold is {0.1 / JS_BASE_FACTOR:.4f} "
                     f"in bits.")
        a.append("verdicts differ on " + (", ".join(disagree) if disagree else "no column") +
                 " (Evidently thresholds an effect size at 0.1; drifttap tests p-values, "
                 "Bonferroni-corrected, and reports the same effect sizes beside them)")
        if evidently.get("drifted"):
            a.append(f"Evidently DriftedColumnsCount: {evidently['drifted']}")

        tests = evidently.get("tests") or {}
        ks = [(column, tests[column]["value"], dt[column].get("p_value")) for column in numeric
              if column in tests and column in dt and tests[column]["method"] in ("ks", "K-S p_value")]
        if ks:
            worst_abs = max(ks, key=lambda x: p_diff(x[1], x[2])[0])
            worst_rel = max(ks, key=lambda x: p_diff(x[1], x[2])[1])
            a.append(f"KS p-values, Evidently num_method='ks' (scipy ks_2samp, method 'auto': "
                     f"asymptotic at these sizes) vs drifttap, {len(ks)} columns: max |diff| "
                     f"{p_diff(worst_abs[1], worst_abs[2])[0]:.3g} ({worst_abs[0]}), max relative "
                     f"{p_diff(worst_rel[1], worst_rel[2])[1]:.3g} ({worst_rel[0]}: "
                     f"{worst_rel[1]!r} vs {worst_rel[2]!r})" +
                     (", a subnormal p-value: fewer than 53 significant bits there"
                      if 0 < min(worst_rel[1], worst_rel[2] or 0) < sys.float_info.min else ""))
            flagged = [c for c in list(numeric) + list(categorical)
                       if c in tests and tests[c]["value"] < (tests[c].get("threshold") or 0.05)]
            a.append(f"Evidently with num_method='ks', cat_method='chisquare' flags "
                     f"{len(flagged)} columns (p < 0.05 each, no correction across columns): "
                     f"{', '.join(flagged)}")
        chi = evidently.get("scipy_chi2") or {}
        rows = [(c, chi[c], dt[c]) for c in categorical if c in chi and c in dt]
        if rows:
            stat_rel = max(rel_diff(s["statistic"], d.get("statistic")) for _, s, d in rows)
            p_abs = max(p_diff(s["p_value"], d.get("p_value"))[0] for _, s, d in rows)
            p_rel = max(p_diff(s["p_value"], d.get("p_value"))[1] for _, s, d in rows)
            a.append(f"chi2, scipy chi2_contingency on the same counts vs drifttap, {len(rows)} "
                     f"columns: statistic max relative diff {stat_rel:.3g}; p-value max |diff| "
                     f"{p_abs:.3g}, max relative {p_rel:.3g}")
            gof = [f"{c} {fmt_p(tests[c]['value'])} vs {fmt_p(d.get('p_value'))}"
                   for c, _, d in rows if c in tests]
            if gof:
                a.append("Evidently cat_method='chisquare' is a goodness-of-fit test of the "
                         "current counts against the reference shares (scipy chisquare, k - 1 "
                         "dof), not the homogeneity test (contingency table) drifttap and "
                         "scipy chi2_contingency run, so its p-values differ by design (Evidently "
                         "vs drifttap): " + "; ".join(gof))

    if nannyml:
        nm = nannyml["columns"]
        ks_rows = [(c, nm[c]["value"], dt[c].get("statistic")) for c in numeric
                   if c in nm and c in dt and dt[c].get("statistic") is not None]
        exact = nannyml.get("exact_ks") or {}
        if ks_rows:
            worst = max(ks_rows, key=lambda x: abs(x[1] - x[2]))
            a.append(f"NannyML {nannyml.get('version')} KS statistic (default 'auto': reference "
                     f">= 10 000 rows, so an ECDF on 10 000 equal-width bins) vs drifttap's D, "
                     f"{len(ks_rows)} columns: max |diff| {abs(worst[1] - worst[2]):.3g} "
                     f"({worst[0]}: {worst[1]!r} vs {worst[2]!r})")
        if exact:
            diffs = [abs(exact[c] - dt[c]["statistic"]) for c in exact
                     if c in dt and dt[c].get("statistic") is not None]
            used = ", ".join(nannyml.get("exact_ks_method") or ["?"])
            if diffs:
                a.append(f"NannyML KS statistic with calculation_method='exact' (scipy ks_2samp on "
                         f"the raw samples; untimed; method used: {used}) vs drifttap's D: max "
                         f"|diff| {max(diffs):.3g}")
        chi_rows = [(c, nm[c]["value"], dt[c].get("statistic")) for c in categorical
                    if c in nm and c in dt and dt[c].get("statistic") is not None]
        if chi_rows:
            stat_rel = max(rel_diff(x[1], x[2]) for x in chi_rows)
            pv = nannyml.get("chi2_p_values") or {}
            p_rows = [(pv[c], dt[c]["p_value"]) for c, _, _ in chi_rows if c in pv]
            p_text = (f"; p-value max |diff| {max(p_diff(p, q)[0] for p, q in p_rows):.3g}, max "
                      f"relative {max(p_diff(p, q)[1] for p, q in p_rows):.3g}" if p_rows else "")
            a.append(f"NannyML chi2 (scipy chi2_contingency) vs drifttap, {len(chi_rows)} columns: "
                     f"statistic max relative diff {stat_rel:.3g}{p_text}")
        alerts = [c for c in nm if nm[c]["alert"]]
        differ = [c for c in nm if c in dt and nm[c]["alert"] != bool(dt[c].get("drift"))]
        a.append(f"NannyML alerts ({len(alerts)}): {', '.join(alerts) or 'none'}; differ from "
                 f"drifttap's verdicts on: {', '.join(differ) or 'no column'} (NannyML's KS alert "
                 f"is a threshold from the reference chunks' statistics, its chi2 alert p < 0.05 "
                 f"without correction)")
        split = nannyml.get("split", {}).get("default")
        if split:
            a.append(f"NannyML time split (untimed run): fit {split['fit']:.3f} s, calculate "
                     f"{split['calculate']:.3f} s; pandas {nannyml.get('pandas')}, numpy "
                     f"{nannyml.get('numpy')} in its environment")

    # Speed summary against the brief's target.
    dt1 = report.drifttap_seconds(1)
    ev_row = next((r for r in report.rows if r["tool"] == "evidently" and ok(r)), None)
    if dt1 and ev_row:
        ratio = ev_row["seconds"] / dt1
        a.append(f"speed: Evidently in process / drifttap whole process (1 thread, medians) = "
                 f"{ratio:.1f}x (min/min {ev_row['min_seconds'] / runs[0]['min_seconds']:.1f}x); "
                 f"goal >= {E2E_TARGET}x: {'met' if ratio >= E2E_TARGET else 'NOT met'}")
        others = [r for r in report.rows if ok(r) and r["tool"].startswith("drifttap") and
                  (r["tool"], r["threads"]) != ("drifttap", 1)]
        if others:
            a.append("  the same ratio against " + "; ".join(
                f"{LABELS[r['tool']]}, {threads_text(r['threads'])}: "
                f"{ev_row['seconds'] / r['seconds']:.1f}x" for r in others))


def markdown(reports: list[Report], command: str) -> str:
    lines = [f"Command: `{command}`", "",
             "| Workload | Tool | Threads | Seconds | Peer / drifttap | Peak RSS |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for report in reports:
        for row in report.rows:
            if not ok(row):
                lines.append(f"| {report.workload} | {LABELS[row['tool']]} | {row['threads']} | "
                             f"{'skipped' if 'skipped' in row else 'failed'} | | |")
                continue
            same, one = report.ratios(row)
            if row["tool"].startswith("drifttap"):
                ratio = "—"
            elif same is not None:
                ratio = fmt_ratio(same).replace("x", "×")
            elif one is not None:
                ratio = fmt_ratio(one).replace("x", "×") + " (vs 1 thread)"
            else:
                ratio = "n/a"
            rss = fmt_rss(row.get("peak_rss_bytes")) if report.show_rss() else ""
            seconds = fmt_seconds(row["seconds"])
            if "min_seconds" in row:
                seconds += f" (min {fmt_seconds(row['min_seconds'])})"
            lines.append(f"| {report.workload} | {LABELS[row['tool']]} | {row['threads']} | "
                         f"{seconds} | {ratio} | {rss} |")
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
    for package in ("numpy", "scipy", "torch", "alibi-detect", "pandas", "pyarrow", "evidently"):
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
    parser.add_argument("--workloads", type=lambda s: parse_list(s, WORKLOADS), default=None,
                        help="comma-separated subset of " + ",".join(WORKLOADS) + " (default: all)")
    parser.add_argument("--threads", type=parse_threads, default=[1, 2],
                        help="thread counts for drifttap and the numpy port (default 1,2)")
    parser.add_argument("--skip-alibi-mmd", action="store_true",
                        help="do not run alibi-detect's MMDDrift at all")
    parser.add_argument("--alibi-mmd-10k", action="store_true",
                        help="also run alibi-detect's MMDDrift on mmd-10k (long, several GB)")
    parser.add_argument("--quick", action="store_true",
                        help="ks-features, ks-one, mmd-5k without alibi's MMDDrift and a short "
                             "check-e2e (or only the --workloads given)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds allowed to each subprocess (default 1800)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="where check-e2e writes (once) and reads its Parquet files "
                             "(default ~/.cache/drifttap/peers-data)")
    parser.add_argument("--evidently-python", metavar="PYTHON",
                        help="interpreter with Evidently for check-e2e (default: "
                             "$DRIFTTAP_EVIDENTLY_PYTHON, else this one)")
    parser.add_argument("--nannyml-python", metavar="PYTHON",
                        help="interpreter with NannyML for check-e2e (default: "
                             "$DRIFTTAP_NANNYML_PYTHON, else ~/.cache/drifttap/peers-nannyml-venv "
                             "when it exists)")
    parser.add_argument("--skip-nannyml", action="store_true", help="leave NannyML out of check-e2e")
    parser.add_argument("--e2e-repeats", type=int, default=E2E_REPEATS,
                        help=f"timed runs of drifttap check in check-e2e (default {E2E_REPEATS})")
    parser.add_argument("--e2e-peer-repeats", type=int, default=E2E_PEER_REPEATS,
                        help=f"timed runs of each peer in check-e2e (default {E2E_PEER_REPEATS})")
    parser.add_argument("--run-one", nargs=2, metavar=("WORKLOAD", "PEERS"), help=argparse.SUPPRESS)
    parser.add_argument("--child-threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--child-repeats", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--child-light", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.e2e_repeats < 1 or args.e2e_peer_repeats < 1:
        parser.error("--e2e-repeats and --e2e-peer-repeats must be at least 1")

    if args.run_one:
        try:
            return child_main(args.run_one[0], args.run_one[1], args.child_threads, args)
        except KeyboardInterrupt:
            return 130

    if args.workloads is None:
        args.workloads = QUICK_WORKLOADS if args.quick else WORKLOADS
    if args.quick:
        args.skip_alibi_mmd = True
        args.e2e_repeats = min(args.e2e_repeats, 5)
        args.e2e_peer_repeats = 1
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
        if not build(workloads):
            return 1
        for workload in workloads:
            print(f"running {workload} ...", flush=True)
            report = Report(workload)
            reports.append(report)
            if workload == "ks-features":
                workload_ks_features(args, report)
            elif workload == "ks-one":
                workload_ks_one(args, report)
            elif workload == "check-e2e":
                workload_check_e2e(args, report)
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
