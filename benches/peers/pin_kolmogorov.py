"""Expected values for the KS p-value tests in `src/stats/ks/pvalue.rs` and
`src/stats/ks/pvalue/kolmogorov.rs`, from scipy 1.17.1.

    python benches/peers/pin_kolmogorov.py            # print every pinned value with its call
    python benches/peers/pin_kolmogorov.py --sweep F  # write a random sweep to F (TSV)

The pinned values are copied into the Rust tests next to the call that produced them. The
sweep file feeds the ignored Rust test `sweep_against_scipy`:

    DRIFTTAP_KS_SWEEP=F cargo test --release --lib stats::ks::pvalue -- --ignored sweep

which reports the largest absolute and relative differences per function and fails beyond
1e-6 absolute or 1e-3 relative (relative only where scipy's value exceeds 1e-300).
"""
import math
import sys
import warnings

import numpy as np
from scipy import special, stats
from scipy.stats._stats_py import _attempt_exact_2kssamp

# kstwo.sf(d, n): every region of scipy's `_kolmogn` (see the Rust doc comment).
KSTWO = [
    # t = n d <= 0.5 -> 1
    (1000, 0.0004),
    # Ruben-Gambino, t <= 1, n <= 140 (product) and n > 140 (Stirling)
    (10, 0.07), (140, 0.005), (1000, 0.0008), (9091, 0.0001),
    # Ruben-Gambino, t >= n - 1
    (10, 0.95), (3, 0.7), (141, 0.995),
    # d >= 0.5: 2 * smirnov (exact sum, integral, and cephes's underflow cut to 0)
    (50, 0.6), (141, 0.5), (1000, 0.5), (2000, 0.55),
    # n <= 140: Durbin/MTW, Pomeranz, 2 * smirnov
    (100, 0.06), (140, 0.05), (100, 0.15), (140, 0.1), (27, 0.3), (100, 0.25), (140, 0.3),
    # n > 140: n d^2 >= 370 -> 0, 2 * smirnov for n d^2 >= 2.2
    (9091, 0.21), (9091, 0.0123), (9091, 0.03), (10000, 0.1), (10000, 0.18),
    (1000000, 0.003), (1000001, 0.003), (300, 0.1),
    # n > 140, n d^2 < 2.2: Durbin/MTW (n <= 5000 here), Pelz-Good
    (1000, 0.01), (3000, 0.005), (5000, 0.004), (10000, 0.002), (90909, 0.0005),
    (10000, 0.01), (90909, 0.003), (200000, 0.002), (1000000, 0.001),
    # tiny n
    (1, 0.3), (1, 0.5), (1, 0.75), (2, 0.2), (2, 0.3), (2, 0.5), (2, 0.8),
    (3, 0.2), (3, 0.4), (3, 0.6), (3, 0.9),
] + [
    (n, d)
    for n in (10000, 90909, 1000000)
    for d in (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 0.5)
]

# special.smirnov(n, d): cephes's special cases, the upper sum, the lower sum (exact and
# integrated), the O(n) regime of small n d^2, and the n > 10^6 approximation.
SMIRNOV = [
    (1, 0.3), (5, 0.1), (5, 0.2), (10, 0.95), (3, 0.4), (100, 0.025), (1000, 0.002),
    (1000, 0.0135), (1000, 0.06), (90909, 0.01), (100000, 0.001), (1000000, 0.01),
    (2000000, 0.001), (1500, 0.5), (1400, 0.5), (10000, 0.19),
]

# _attempt_exact_2kssamp(n1, n2, g, h / lcm, alternative) -> (n1, n2, h)
TWO_SIDED = [
    (1, 1, 1), (1, 2, 1), (1, 2, 2), (2, 2, 1), (2, 2, 2), (5, 5, 1), (3, 3, 2),
    (10, 10, 3), (50, 50, 10), (1000, 1000, 100), (1000, 1000, 1000), (7, 13, 50),
    (13, 17, 100), (1, 1000, 700), (2, 999, 1500), (100, 99, 2000), (1000, 999, 1),
    (1000, 999, 99900), (1000, 999, 998000), (600, 400, 300), (3000, 2999, 150000),
]
ONE_SIDED = [
    (1, 1, 1), (2, 2, 1), (10, 10, 3), (1000, 1000, 100), (1000, 1000, 1000),
    (7, 13, 50), (1, 1000, 700), (2, 999, 1500), (100, 37, 1500), (500, 499, 50000),
    (10000, 130, 100000), (600, 601, 1000), (2000, 1999, 40000), (3000, 40, 2000), (3000, 40, 300),
]
ASYMP_ONE = [(1000, 20000, 0.02), (20000, 1000, 0.02), (50, 60, 0.3), (5, 5, 0.0)]
EFFECTIVE_N = [(1, 1), (3, 1), (3, 3), (5, 5), (7, 7), (10000, 100), (20000, 10001)]
FEASIBLE = [(46341, 46341), (46340, 46341), (46341, 46342), (100000, 30000), (3, 1000000000)]


def exact(n1, n2, h, alternative):
    g = math.gcd(n1, n2)
    lcm = n1 // g * n2
    d = h / lcm
    assert int(np.round(d * lcm)) == h
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # ks_2samp passes Python ints (array shapes and math.gcd).
        ok, _, p = _attempt_exact_2kssamp(n1, n2, g, d, alternative)
    return float(p) if ok else None


def feasible(n1, n2):
    # ks_2samp's test, with its Python ints
    g = math.gcd(n1, n2)
    return not (n1 // g >= np.iinfo(np.int32).max / (n2 // g))


def asymp(n1, n2, d, alternative):
    """The method='asymp' branch of scipy 1.17.1's `ks_2samp`, verbatim (it is inline there)."""
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    if alternative == "two-sided":
        prob = stats.kstwo.sf(d, np.round(en))
    else:
        z = np.sqrt(en) * d
        expt = -2 * z**2 - 2 * z * (m + 2 * n) / np.sqrt(m * n * (m + n)) / 3.0
        prob = np.exp(expt)
    return float(np.clip(prob, 0, 1))


def effective_n(n1, n2):
    m, n = sorted([float(n1), float(n2)], reverse=True)
    return int(np.round(m * n / (m + n)))


def pins():
    print("// kstwo")
    for n, d in KSTWO:
        print(f"// scipy 1.17.1: scipy.stats.kstwo.sf({d!r}, {n})\n({n}, {d!r}, {float(stats.kstwo.sf(d, n))!r}),")
    print("// smirnov")
    for n, d in SMIRNOV:
        print(f"// scipy 1.17.1: scipy.special.smirnov({n}, {d!r})\n({n}, {d!r}, {float(special.smirnov(n, d))!r}),")
    for name, cases, alt in (("two-sided", TWO_SIDED, "two-sided"), ("one-sided", ONE_SIDED, "greater")):
        print(f"// exact {name}")
        for n1, n2, h in cases:
            g = math.gcd(n1, n2)
            p = exact(n1, n2, h, alt)
            lcm = n1 // g * n2
            print(f"// scipy 1.17.1: _attempt_exact_2kssamp({n1}, {n2}, {g}, {h}/{lcm}, '{alt}')\n"
                  f"({n1}, {n2}, {h}, {'None' if p is None else f'Some({p!r})'}),")
    print("// asymp one-sided")
    for n1, n2, d in ASYMP_ONE:
        p = asymp(n1, n2, d, "greater")
        print(f"// scipy 1.17.1: ks_2samp asymp 'greater' branch at n1={n1}, n2={n2}, d={d!r}\n({n1}, {n2}, {d!r}, {p!r}),")
    print("// effective n, and the two-sided asymp p-value it feeds")
    for n1, n2 in EFFECTIVE_N:
        p = asymp(n1, n2, 0.05, "two-sided")
        print(f"// np.round({max(n1, n2)}*{min(n1, n2)}/({n1 + n2})) = {effective_n(n1, n2)}; "
              f"ks_2samp asymp two-sided at d=0.05: kstwo.sf(0.05, {effective_n(n1, n2)}) = {p!r}")
    print("// exact feasible")
    for n1, n2 in FEASIBLE:
        print(f"// ({n1}, {n2}): {feasible(n1, n2)}")


def sweep(path, seed=20260522):
    """Random (n, d) over every region plus random exact cases, as `kind args expected`."""
    rng = np.random.default_rng(seed)
    rows = []
    ns = list(range(1, 150)) + sorted(set(np.exp(rng.uniform(np.log(150), np.log(3e6), 300)).astype(int)))
    for n in map(int, ns):
        for _ in range(4):
            for d in (
                rng.uniform(0.5 / n, 1.5 / n), np.sqrt(rng.uniform(0, 0.8) / n),
                np.sqrt(rng.uniform(0.75, 4.5) / n), np.sqrt(rng.uniform(2, 372) / n),
                # scipy's Durbin region (slow in scipy beyond n ~ 2e4, so sampled below it)
                (rng.uniform(0, 1.4) / n) ** (2 / 3) if n <= 20000 else 0.0,
                rng.uniform(0, 1),
            ):
                d = float(d)
                if 0 < d < 1:
                    rows.append(f"kstwo\t{n}\t{d!r}\t{float(stats.kstwo.sf(d, n))!r}")
                    if n <= 2000000:
                        rows.append(f"smirnov\t{n}\t{d!r}\t{float(special.smirnov(n, d))!r}")
    for _ in range(400):
        n1 = int(rng.integers(1, 400))
        n2 = int(rng.integers(1, 400))
        g = math.gcd(n1, n2)
        h = int(rng.integers(0, n1 // g * n2 + 1))
        for kind, alt in (("two", "two-sided"), ("one", "greater")):
            p = exact(n1, n2, h, alt)
            rows.append(f"{kind}\t{n1}\t{n2}\t{h}\t{'None' if p is None else repr(p)}")
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} cases to {path}")


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # kstwo.sf at n = 0 warns (and returns nan, as pinned)
    if len(sys.argv) == 3 and sys.argv[1] == "--sweep":
        sweep(sys.argv[2])
    else:
        pins()
