//! One evaluation of the bundled credit example's 5 000-row drifted window against its
//! baseline, as the sidecar's engine runs it every interval:
//! - `prepared_once`: the default decision (one family; the MMD test on up to 2 000 window rows
//!   against as many reference rows drawn afresh, with the permutations its threshold needs);
//! - `prepared_each_time`: the same, prepared afresh at every evaluation;
//! - `alibi_compat`: alibi-detect's decision as drifttap made it before (`compat: alibi`, a fixed
//!   1 000-row reference, 1 000 window rows, 100 permutations): what the calibrated decision
//!   costs.
//!
//! `cargo bench --bench evaluate`

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use drifttap::baseline::compile::BuildOptions;
use drifttap::baseline::open::open;
use drifttap::baseline::parquet;
use drifttap::baseline::select::Selection;
use drifttap::evaluate::{Compat, Options, Prepared};
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
    let prepared =
        Prepared::new(Arc::clone(&baseline), options.clone(), &compute).expect("prepares");
    let alibi = Prepared::new(
        Arc::clone(&baseline),
        Options {
            compat: Compat::Alibi,
            permutations: Some(100),
            mmd_max_rows: 1_000,
            ..Options::default()
        },
        &compute,
    )
    .expect("prepares");

    let mut group = c.benchmark_group("evaluate/credit_5000");
    group.sample_size(20);
    group.bench_function("prepared_once", |b| {
        b.iter(|| prepared.evaluate(&window, 0..rows).expect("evaluates"))
    });
    group.bench_function("alibi_compat", |b| {
        b.iter(|| alibi.evaluate(&window, 0..rows).expect("evaluates"))
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
