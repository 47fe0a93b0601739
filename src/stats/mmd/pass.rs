//! The tiled pass over all pairs of a pooled sample, never holding more than one tile of the
//! `N × N` kernel matrix per thread.
//!
//! Rows are split into tiles of [`TILE`] rows; only tiles `(I, J)` with `I ≤ J` are visited
//! (the matrix is symmetric). For each tile the dot products `z_i · z_j` come from a GEMM of
//! the two row blocks, and the caller's visitor turns them into what it needs: squared
//! distances for the bandwidth, or kernel values folded into per-permutation sums.
//!
//! Memory: the pooled data twice (row-major and in transposed panels), one row-norm vector, and per
//! thread one `TILE × TILE` buffer — O(N·d), independent of the number of pairs.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::stats::backend::Compute;

/// Rows per tile. 96 is a multiple of every micro-kernel width (4 rows; 3 vectors of 4 or 8
/// lanes), and a tile of f64 kernel values (72 KiB) plus the matching label panel stays in a
/// core's L2 cache.
pub(crate) const TILE: usize = 96;

/// Pooled rows, centred on a fixed point. Each input block (reference, current) is padded with
/// zero rows to a whole number of tiles, so no tile mixes the two and the reference-only tiles
/// can be told apart (and skipped when their sums are cached).
#[derive(Debug, Clone)]
pub(crate) struct Pooled {
    /// `padded × dim`, row-major.
    rows: Vec<f64>,
    /// The same data transposed tile by tile: block `J` is a contiguous `dim × TILE` panel
    /// (`panels[J·dim·TILE + t·TILE + k] = z[J·TILE + k][t]`), the right-hand side of a tile's
    /// dot-product GEMM read row after row without striding across the whole matrix.
    panels: Vec<f64>,
    /// `‖z_i‖²` per row.
    norms: Vec<f64>,
    /// Real rows in each input block.
    pub(crate) block_rows: Vec<usize>,
    /// First padded row of each input block.
    pub(crate) block_starts: Vec<usize>,
    pub(crate) padded: usize,
    pub(crate) dim: usize,
}

impl Pooled {
    /// Pools the row-major blocks in order, subtracting `center` from every row. Centring
    /// changes no distance but keeps `‖a‖² + ‖b‖² − 2a·b` from cancelling catastrophically
    /// when the data sit far from the origin.
    pub(crate) fn new(blocks: &[&[f64]], dim: usize, center: &[f64]) -> Self {
        let block_rows: Vec<usize> = blocks.iter().map(|b| b.len() / dim).collect();
        let mut block_starts = Vec::with_capacity(blocks.len());
        let mut padded = 0;
        for rows in &block_rows {
            block_starts.push(padded);
            padded += rows.div_ceil(TILE) * TILE;
        }
        let mut rows = vec![0.0; padded * dim];
        for (block, start) in blocks.iter().zip(&block_starts) {
            for (r, row) in block.chunks_exact(dim).enumerate() {
                let at = start + r;
                for ((dst, x), c) in rows[at * dim..(at + 1) * dim]
                    .iter_mut()
                    .zip(row)
                    .zip(center)
                {
                    *dst = x - c;
                }
            }
        }
        let mut panels = vec![0.0; padded * dim];
        for (r, row) in rows.chunks_exact(dim).enumerate() {
            let (block, k) = (r / TILE, r % TILE);
            for (t, x) in row.iter().enumerate() {
                panels[block * dim * TILE + t * TILE + k] = *x;
            }
        }
        let norms = rows
            .chunks_exact(dim)
            .map(|r| r.iter().map(|x| x * x).sum())
            .collect();
        Pooled {
            rows,
            panels,
            norms,
            block_rows,
            block_starts,
            padded,
            dim,
        }
    }

    /// The padded row of pooled index `index`, counting real rows block after block.
    pub(crate) fn position(&self, mut index: usize) -> usize {
        for (rows, start) in self.block_rows.iter().zip(&self.block_starts) {
            if index < *rows {
                return start + index;
            }
            index -= rows;
        }
        self.padded
    }

    pub(crate) fn norms(&self) -> &[f64] {
        &self.norms
    }
}

/// Where a visited tile sits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tile {
    /// First row of the row block `I` and of the column block `J`.
    pub i0: usize,
    pub j0: usize,
}

impl Tile {
    pub(crate) fn diagonal(&self) -> bool {
        self.i0 == self.j0
    }
}

/// Visits every tile `(I, J)`, `I ≤ J`, for which `include(I, J)` holds (block indices), handing `visit` the tile's dot products
/// (`TILE × TILE`, row-major, `dots[a·TILE + b] = z_{i0+a} · z_{j0+b}`). Work is spread over
/// `compute.threads` scoped threads, each with its own state from `init`; the states are
/// returned for the caller to merge.
pub(crate) fn for_each_tile<S, I, V>(
    pooled: &Pooled,
    compute: &Compute,
    include: impl Fn(usize, usize) -> bool,
    init: I,
    visit: V,
) -> Vec<S>
where
    S: Send,
    I: Fn() -> S + Sync,
    V: Fn(&mut S, Tile, &mut [f64]) + Sync,
{
    let blocks = pooled.padded / TILE;
    let pairs: Vec<(usize, usize)> = (0..blocks)
        .flat_map(|i| (i..blocks).map(move |j| (i, j)))
        .filter(|&(i, j)| include(i, j))
        .collect();
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut state = init();
        let mut dots = vec![0.0; TILE * TILE];
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(bi, bj)) = pairs.get(k) else { break };
            let tile = Tile {
                i0: bi * TILE,
                j0: bj * TILE,
            };
            dots.fill(0.0);
            compute.backend.gemm_acc(
                &pooled.rows[tile.i0 * pooled.dim..],
                pooled.dim,
                &pooled.panels[tile.j0 * pooled.dim..(tile.j0 + TILE) * pooled.dim],
                TILE,
                pooled.dim,
                &mut dots,
                TILE,
                TILE,
                TILE,
            );
            visit(&mut state, tile, &mut dots);
            compute.checkpoint();
        }
        state
    };
    crate::stats::par::on_threads(compute.threads.get().min(pairs.len()), worker)
}
