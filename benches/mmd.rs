//! MMD² permutation test (100 permutations) across pooled sizes and dimensions, on the scalar
//! oracle and the SIMD backend, one thread; and the SIMD backend's scaling with threads.
//!
//! `cargo bench --bench mmd`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drifttap::stats::mmd::{MmdReference, Permutations, Rows, mmd_test};
use drifttap::stats::{Backend, Compute, synth};

const PERMUTATIONS: Permutations<'static> = Permutations::Random {
    count: 100,
    seed: 7,
};

fn size_sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group("mmd_test/p100");
    group.sample_size(10);
    for backend in Backend::available() {
        let compute = Compute {
            backend,
            ..Compute::scalar()
        };
        for (rows, dim) in [(500, 16), (1_000, 16), (2_000, 16), (2_000, 64)] {
            let reference =
                MmdReference::new(synth::normal_matrix(1, rows, dim, &[], 1.0), dim, &compute)
                    .expect("valid reference");
            let current = synth::normal_matrix(2, rows, dim, &[0.05], 1.0);
            let pairs = (2 * rows) * (2 * rows) / 2;
            group.throughput(Throughput::Elements(pairs as u64));
            let id = BenchmarkId::new(backend.name(), format!("n=m={rows},d={dim}"));
            group.bench_with_input(id, &current, |b, y| {
                b.iter(|| test(&reference, y, dim, &compute))
            });
        }
    }
    group.finish();
}

/// One MMD test of `current` (rows of `dim`) against `reference`.
fn test(reference: &MmdReference, current: &[f64], dim: usize, compute: &Compute) -> f64 {
    mmd_test(
        reference,
        Rows::new(current, dim).expect("valid rows"),
        PERMUTATIONS,
        0.05,
        compute,
    )
    .expect("valid test")
    .p_value
}

fn thread_scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("mmd_test/threads");
    group.sample_size(10);
    let (rows, dim) = (5_000, 32);
    let base = Compute::detect();
    let reference = MmdReference::new(synth::normal_matrix(1, rows, dim, &[], 1.0), dim, &base)
        .expect("valid reference");
    let current = synth::normal_matrix(2, rows, dim, &[0.05], 1.0);
    for threads in [1, 2] {
        let compute = base.with_threads(threads);
        group.bench_with_input(
            BenchmarkId::new(base.backend.name(), threads),
            &current,
            |b, y| b.iter(|| test(&reference, y, dim, &compute)),
        );
    }
    group.finish();
}

fn bandwidth(c: &mut Criterion) {
    let mut group = c.benchmark_group("mmd_reference/median_heuristic");
    group.sample_size(10);
    for backend in Backend::available() {
        let compute = Compute {
            backend,
            ..Compute::scalar()
        };
        let data = synth::normal_matrix(1, 2_000, 32, &[], 1.0);
        group.bench_with_input(
            BenchmarkId::new(backend.name(), "n=2000,d=32"),
            &data,
            |b, x| b.iter(|| MmdReference::new(x.clone(), 32, &compute)),
        );
    }
    group.finish();
}

criterion_group!(benches, size_sweep, thread_scaling, bandwidth);
criterion_main!(benches);
