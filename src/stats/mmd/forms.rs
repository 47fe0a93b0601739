//! The kernel pass proper: each tile's kernel values, their products with the label matrices,
//! and the per-column sums they fold into.

use crate::stats::backend::{Backend, Compute};

use super::labels::Labels;
use super::pass::{Pooled, TILE, for_each_tile};

/// Running f64 sums with Neumaier compensation. Thousands of tile contributions of similar size
/// are added into totals up to `N²` times larger; compensation keeps the totals exact to a few
/// ulps, which matters because MMD² is a small difference of three such totals.
#[derive(Debug, Clone, PartialEq)]
struct Compensated {
    sum: Vec<f64>,
    compensation: Vec<f64>,
}

impl Compensated {
    fn new(columns: usize) -> Self {
        Compensated {
            sum: vec![0.0; columns],
            compensation: vec![0.0; columns],
        }
    }

    fn add(&mut self, values: &[f64]) {
        for ((sum, comp), &v) in self.sum.iter_mut().zip(&mut self.compensation).zip(values) {
            let t = *sum + v;
            *comp += if sum.abs() >= v.abs() {
                (*sum - t) + v
            } else {
                (v - t) + *sum
            };
            *sum = t;
        }
    }

    fn merge(&mut self, other: &Compensated) {
        self.add(&other.sum);
        self.add(&other.compensation);
    }

    fn value(&self, c: usize) -> f64 {
        self.sum[c] + self.compensation[c]
    }
}

/// `q[c] = s_cᵀK₀s_c` and `u[c] = s_cᵀK₀1` for every label column of one group.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Forms {
    q_diagonal: Compensated,
    q_off: Compensated,
    u: Compensated,
    /// One tile's contribution, before it is added to the totals.
    tile: Vec<f64>,
}

impl Forms {
    fn new(columns: usize) -> Self {
        Forms {
            q_diagonal: Compensated::new(columns),
            q_off: Compensated::new(columns),
            u: Compensated::new(columns),
            tile: vec![0.0; columns],
        }
    }

    /// Folds a tile's product `product = K·S_J` into the sums, given `labels_i = S_I` and the
    /// tile's kernel row sums `row_sums = K·1_J`.
    #[expect(clippy::too_many_arguments, reason = "one tile's worth of operands")]
    fn fold(
        &mut self,
        backend: Backend,
        diagonal: bool,
        labels_i: &[f64],
        product: &[f64],
        stride: usize,
        row_sums: &[f64],
        valid_i: &[f64],
    ) {
        // q: Σ_i s_c[i]·(K·S_J)[i][c]; an off-diagonal tile stands for its mirror image too.
        self.tile.fill(0.0);
        backend.column_dots(labels_i, product, stride, TILE, &mut self.tile);
        if diagonal {
            &mut self.q_diagonal
        } else {
            &mut self.q_off
        }
        .add(&self.tile);
        // u: Σ_i s_c[i]·(K·1_J)[i], plus for the mirror image Σ_i 1[i]·(K·S_J)[i][c].
        self.tile.fill(0.0);
        backend.weighted_rows(labels_i, stride, row_sums, &mut self.tile);
        if !diagonal {
            backend.weighted_rows(product, stride, valid_i, &mut self.tile);
        }
        self.u.add(&self.tile);
    }

    pub(super) fn merge(&mut self, other: &Forms) {
        self.q_diagonal.merge(&other.q_diagonal);
        self.q_off.merge(&other.q_off);
        self.u.merge(&other.u);
    }

    pub(super) fn q(&self, c: usize) -> f64 {
        self.q_diagonal.value(c) + 2.0 * self.q_off.value(c)
    }

    pub(super) fn u(&self, c: usize) -> f64 {
        self.u.value(c)
    }
}

/// Per-thread state of the kernel pass: the sums and the tile scratch buffers.
struct TileState {
    exact: Forms,
    fast: Forms,
    kernel_f32: Vec<f32>,
    product_exact: Vec<f64>,
    product_fast: Vec<f32>,
    product_fast_wide: Vec<f64>,
    row_sums: Vec<f64>,
    valid: Vec<f64>,
}

/// One pass over the kernel tiles `(I, J)` with `include(I, J)`, accumulating both label
/// groups: returns the exact group's and the fast group's forms.
pub(super) fn quadratic_forms(
    pooled: &Pooled,
    labels: &Labels,
    gamma: f64,
    compute: &Compute,
    include: impl Fn(usize, usize) -> bool,
) -> (Forms, Forms) {
    let backend = compute.backend;
    let norms = pooled.norms();
    let (es, fs) = (labels.exact_stride, labels.fast_stride);
    let states = for_each_tile(
        pooled,
        compute,
        include,
        || TileState {
            exact: Forms::new(es),
            fast: Forms::new(fs),
            kernel_f32: vec![0.0; TILE * TILE],
            product_exact: vec![0.0; TILE * es],
            product_fast: vec![0.0; TILE * fs],
            product_fast_wide: vec![0.0; TILE * fs],
            row_sums: vec![0.0; TILE],
            valid: vec![0.0; TILE],
        },
        |st, tile, kernel| {
            backend.rbf_from_dots(
                kernel,
                TILE,
                &norms[tile.i0..tile.i0 + TILE],
                &norms[tile.j0..tile.j0 + TILE],
                gamma,
            );
            if tile.diagonal() {
                for t in 0..TILE {
                    kernel[t * TILE + t] = 0.0;
                }
            }
            // Exact group: K·S_J in f64.
            let exact_i = &labels.exact[tile.i0 * es..(tile.i0 + TILE) * es];
            let exact_j = &labels.exact[tile.j0 * es..(tile.j0 + TILE) * es];
            st.product_exact.fill(0.0);
            backend.gemm_acc(
                kernel,
                TILE,
                exact_j,
                es,
                TILE,
                &mut st.product_exact,
                es,
                TILE,
                es,
            );
            for ((sum, valid), (product, label)) in
                st.row_sums.iter_mut().zip(st.valid.iter_mut()).zip(
                    st.product_exact
                        .chunks_exact(es)
                        .zip(exact_i.chunks_exact(es)),
                )
            {
                *sum = product[0];
                *valid = label[0];
            }
            st.exact.fold(
                backend,
                tile.diagonal(),
                exact_i,
                &st.product_exact,
                es,
                &st.row_sums,
                &st.valid,
            );
            // Fast group: K·S_J in f32, widened to f64 before folding.
            backend.narrow(kernel, &mut st.kernel_f32);
            let fast_j = &labels.fast[tile.j0 * fs..(tile.j0 + TILE) * fs];
            st.product_fast.fill(0.0);
            backend.gemm_acc(
                &st.kernel_f32,
                TILE,
                fast_j,
                fs,
                TILE,
                &mut st.product_fast,
                fs,
                TILE,
                fs,
            );
            backend.widen(&st.product_fast, &mut st.product_fast_wide);
            let fast_i = &labels.fast_wide[tile.i0 * fs..(tile.i0 + TILE) * fs];
            st.fast.fold(
                backend,
                tile.diagonal(),
                fast_i,
                &st.product_fast_wide,
                fs,
                &st.row_sums,
                &st.valid,
            );
        },
    );
    let mut exact = Forms::new(es);
    let mut fast = Forms::new(fs);
    for st in &states {
        exact.merge(&st.exact);
        fast.merge(&st.fast);
    }
    (exact, fast)
}
