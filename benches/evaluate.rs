//! One evaluation of the bundled credit example's 5 000-row drifted window against its
//! baseline, as the sidecar's engine runs it every interval: prepared once per baseline (the
//! PSI bins, the MMD reference and its cached reference–reference block reused) against
//! prepared afresh at every evaluation (what the engine did before `Prepared`). Both give the
//! same report (`evaluate::tests`).
//!
//! `cargo bench --bench evaluate`

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use drifttap::baseline::compile::BuildOptions;
use drifttap::baseline::open::open;
use drifttap::baseline::parquet;
use drifttap::baseline::select::Selection;
use drifttap::evaluate::{Options, Prepared};
use drifttap::stats::Compute;

fn evaluate(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/credit");
    // The sidecar's default: the detected backend on one thread.
    let compute = Compute::detect();
    let selection = Selection {
        exclude: vec!["application_id".into(), "defaulted".into()],
        ..Selection::default()
    };
    let baseline = open(
        &root.join("reference.parquet"),
        &selection,
        &BuildOptions::default(),
        &compute,
    )
    .expect("the bundled example opens")
    .baseline;
    let baseline = Arc::new(baseline);
    let window = parquet::read(&[root.join("current-drifted.parquet")], &[])
        .expect("the bundled example reads")
        .frame;
    let rows = window.rows();
    let options = Options::default();
    let mut prepared =
        Prepared::new(Arc::clone(&baseline), options.clone(), &compute).expect("prepares");
    prepared.cache_mmd(rows).expect("caches");

    let mut group = c.benchmark_group("evaluate/credit_5000");
    group.sample_size(20);
    group.bench_function("prepared_once", |b| {
        b.iter(|| prepared.evaluate(&window, 0..rows).expect("evaluates"))
    });
    group.bench_function("prepared_each_time", |b| {
        b.iter(|| {
            Prepared::new(Arc::clone(&baseline), options.clone(), &compute)
                .and_then(|p| p.evaluate(&window, 0..rows))
                .expect("evaluates")
        })
    });
    group.finish();
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
