//! The counter-based random stream every seeded choice uses (the MMD sample of a baseline, the
//! sample of a window's rows, the permutations): SplitMix64 over a counter, so any element is
//! computed on its own and other languages reproduce it bit for bit (`benches/peers/synth.py`).

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The `i`-th 64-bit word of stream `seed`: the SplitMix64 finaliser of
/// `seed + (i + 1) · 0x9E3779B97F4A7C15` (wrapping).
pub fn bits(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
