//! Compiled baselines: building one from columns in memory (sort, count, MMD sample, content
//! hash) and loading one from disk, 100 000 × 20 and 1 000 000 × 100 numeric features.
//!
//! `cargo bench --bench baseline` (the 1M × 100 case writes ~800 MB to the temp directory).

use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drifttap::baseline::compile::{Baseline, BuildOptions, Quiet};
use drifttap::baseline::select::Selection;
use drifttap::data::{Column, Frame, Values};
use drifttap::stats::{Compute, synth};

/// `rows × features` of normal numbers, one seed per feature.
fn table(rows: usize, features: usize) -> Frame {
    Frame::new(
        rows,
        (0..features)
            .map(|f| Column {
                name: format!("f{f:03}"),
                values: Values::Numeric(synth::normal(f as u64, rows, f as f64, 1.0 + f as f64)),
            })
            .collect(),
    )
    .expect("consistent columns")
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("baseline_build");
    group.sample_size(10);
    let compute = Compute::detect().with_threads(threads());
    let (rows, features) = (100_000, 20);
    let data = table(rows, features);
    group.throughput(Throughput::Elements((rows * features) as u64));
    group.bench_function(
        BenchmarkId::from_parameter(format!("{rows}x{features}")),
        |b| {
            b.iter(|| {
                Baseline::build(
                    &data,
                    &Selection::default(),
                    &BuildOptions::default(),
                    &compute,
                    &Quiet,
                )
            })
        },
    );
    group.finish();
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("baseline_load");
    group.sample_size(10);
    let compute = Compute::detect().with_threads(threads());
    for (rows, features) in [(100_000, 20), (1_000_000, 100)] {
        let dir = std::env::temp_dir().join(format!(
            "drifttap-bench-baseline-{rows}x{features}-{}",
            std::process::id()
        ));
        let baseline = Baseline::build(
            &table(rows, features),
            &Selection::default(),
            &BuildOptions::default(),
            &compute,
            &Quiet,
        )
        .expect("synthetic data compiles");
        baseline.write(&dir).expect("temp dir is writable");
        drop(baseline);
        group.throughput(Throughput::Elements((rows * features) as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{rows}x{features}")),
            &dir,
            |b, dir: &PathBuf| b.iter(|| Baseline::load(dir, threads()).expect("loads")),
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

criterion_group!(benches, build, load);
criterion_main!(benches);
