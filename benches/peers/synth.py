"""Deterministic synthetic data, bit-identical to drifttap's `src/stats/synth.rs`.

Counter-based SplitMix64 plus IEEE-754 additions and multiplications only (no libm calls), so the
f64 values equal the Rust ones exactly. See the Rust module for the scheme; change both or neither.
"""
import numpy as np

GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MASK = (1 << 64) - 1


def bits(seed: int, idx: np.ndarray) -> np.ndarray:
    """SplitMix64 word `idx` (uint64 array) of stream `seed`."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed & _MASK) + (idx.astype(np.uint64) + np.uint64(1)) * GOLDEN_GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform_at(seed: int, idx: np.ndarray) -> np.ndarray:
    return (bits(seed, idx) >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def standard_normal_at(seed: int, idx: np.ndarray) -> np.ndarray:
    idx = idx.astype(np.uint64)
    acc = np.zeros(idx.shape, dtype=np.float64)
    for k in range(12):
        acc += uniform_at(seed, idx * np.uint64(12) + np.uint64(k))
    return acc - 6.0


def normal(seed: int, n: int, loc: float, scale: float) -> np.ndarray:
    return loc + scale * standard_normal_at(seed, np.arange(n, dtype=np.uint64))


def uniform_range(seed: int, n: int, low: float, high: float) -> np.ndarray:
    return low + (high - low) * uniform_at(seed, np.arange(n, dtype=np.uint64))


def quantized_normal(seed: int, n: int, loc: float, scale: float, step: float) -> np.ndarray:
    return np.floor(normal(seed, n, loc, scale) / step) * step


def normal_matrix(seed: int, rows: int, cols: int, loc, scale: float) -> np.ndarray:
    z = standard_normal_at(seed, np.arange(rows * cols, dtype=np.uint64)).reshape(rows, cols)
    shift = np.zeros(cols)
    shift[: len(loc)] = loc[:cols]
    return shift[None, :] + scale * z
