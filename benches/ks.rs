//! KS hot path: one window (sort included) against a reference of 100 000 values sorted once,
//! across window sizes, on the scalar oracle and the SIMD backend.
//!
//! `cargo bench --bench ks`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drifttap::stats::ks::{Alternative, KsMethod, KsOptions, SortedSample, ks_2samp};
use drifttap::stats::{Backend, Compute, synth};

fn ks_window_sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group("ks_2samp/reference_100k");
    let reference_values = synth::normal(1, 100_000, 0.0, 1.0);
    for backend in Backend::available() {
        let compute = Compute {
            backend,
            ..Compute::scalar()
        };
        let reference = SortedSample::new_with(
            reference_values.clone(),
            &Compute {
                backend,
                ..Compute::scalar()
            },
        )
        .expect("finite data");
        for window_len in [1_000, 10_000, 100_000] {
            let window = synth::normal(2, window_len, 0.02, 1.0);
            group.throughput(Throughput::Elements(window_len as u64));
            group.bench_with_input(
                BenchmarkId::new(backend.name(), window_len),
                &window,
                |b, w| {
                    b.iter(|| {
                        ks_2samp(
                            &reference,
                            w,
                            KsOptions {
                                alternative: Alternative::TwoSided,
                                method: KsMethod::Asymp,
                            },
                            &compute,
                        )
                    })
                },
            );
        }
    }
    group.finish();
}

fn window_sort_sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group("window_sort");
    for backend in Backend::available() {
        for len in [1_000, 10_000, 100_000] {
            let values = synth::normal(3, len, 0.0, 1.0);
            group.throughput(Throughput::Elements(len as u64));
            group.bench_with_input(BenchmarkId::new(backend.name(), len), &values, |b, v| {
                b.iter(|| {
                    SortedSample::new_with(
                        v.clone(),
                        &Compute {
                            backend,
                            ..Compute::scalar()
                        },
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, ks_window_sweep, window_sort_sweep);
criterion_main!(benches);
