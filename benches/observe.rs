//! What the tap's request path pays to observe a body: the sampler's draw, and queueing a
//! 1.5 KB copy (the size of `benches/peers/proxy.py`'s requests) when there is room or counting
//! the drop when there is not. The decoder's side drains the queue in the same loop, as it does
//! every few milliseconds in `serve`.
//!
//! `cargo bench --bench observe`

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use drifttap::sidecar::ingest::queue::{Direction, Observation, Sampler, Source, queue};
use drifttap::sidecar::metrics::Metrics;

const BODY: usize = 1_457;

fn observe(c: &mut Criterion) {
    let mut group = c.benchmark_group("observe");
    for (name, ratio) in [("sample/all", 1.0), ("sample/ratio_0.0125", 0.0125)] {
        let sampler = Sampler::default();
        sampler.set_ratio(ratio);
        group.bench_function(name, |b| b.iter(|| black_box(sampler.take())));
    }

    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(Metrics::register(&mut registry, "bench"));
    let body = vec![b'x'; BODY];
    let observation = |body: &[u8]| Observation {
        source: Source::Tap,
        direction: Direction::Request,
        content_type: Some("application/json".into()),
        headers: None,
        body: Bytes::copy_from_slice(body),
    };
    let (observer, receiver) = queue(1024, "bench".into(), metrics.clone());
    let mut drained = Vec::with_capacity(1024);
    group.bench_function("offer_copy_and_drain", |b| {
        b.iter(|| {
            observer.offer_with(|| observation(&body));
            drained.clear();
            receiver.drain(&mut drained).expect("observer alive");
        })
    });
    let (full, _receiver) = queue(1, "bench".into(), metrics);
    full.offer(observation(&body));
    group.bench_function("offer_to_a_full_queue", |b| {
        b.iter(|| black_box(full.offer_with(|| observation(&body))))
    });
    group.finish();
}

criterion_group!(benches, observe);
criterion_main!(benches);
