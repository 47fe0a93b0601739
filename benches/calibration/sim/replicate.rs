//! What every measurement repeats: a baseline compiled from a training draw, one evaluation of
//! a window through drifttap's own code, and the loop that runs replications on a few threads
//! with their results in replication order (so a run's numbers never depend on scheduling).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use drifttap::baseline::compile::{Baseline, BuildOptions, Quiet};
use drifttap::baseline::select::Selection;
use drifttap::evaluate::{Options, Prepared, Report};
use drifttap::stats::Compute;

use super::generate::{TableSpec, stream};

/// One thread per evaluation, the sidecar's default backend: replications, not an
/// evaluation's features, are what runs in parallel.
pub fn compute() -> Compute {
    Compute::detect().with_threads(1)
}

/// A baseline compiled from `training_rows` rows of `spec` drawn from stream `seed`, its MMD
/// sample drawn with a seed derived from the same.
pub fn baseline(spec: &TableSpec, training_rows: usize, seed: u64) -> Arc<Baseline> {
    let training = spec.frame(seed, 0..training_rows as u64);
    let options = BuildOptions {
        seed: stream(seed, &[1]),
        ..BuildOptions::default()
    };
    let built = Baseline::build(
        &training,
        &Selection::default(),
        &options,
        &compute(),
        &Quiet,
    )
    .expect("a simulated training table compiles");
    Arc::new(built)
}

/// One evaluation of every row of `window` against `baseline`.
pub fn evaluate(
    baseline: &Arc<Baseline>,
    options: Options,
    window: &drifttap::data::Frame,
) -> Report {
    Prepared::new(Arc::clone(baseline), options, &compute())
        .and_then(|p| p.evaluate(window, 0..window.rows()))
        .expect("a simulated window evaluates against its baseline")
}

/// What a replication of a null or shifted window records of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The report's verdict: any feature (after the correction) or the MMD test.
    pub drift: bool,
    /// Any feature's test, after the correction.
    pub any_feature: bool,
    /// The MMD test (false when it did not run).
    pub mmd: bool,
}

impl Outcome {
    pub fn of(report: &Report) -> Outcome {
        Outcome {
            drift: report.drift,
            any_feature: report.features.iter().any(|f| f.drift),
            mmd: report.multivariate.as_ref().is_some_and(|m| m.drift),
        }
    }
}

/// `f(i)` for `i` in `0..count` on up to `threads` scoped threads, each taking the next index
/// in turn; results in index order.
pub fn parallel<T: Send>(
    count: usize,
    threads: usize,
    progress: &Progress,
    f: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                break done;
            }
            done.push((i, f(i)));
            progress.step();
        }
    };
    let threads = threads.clamp(1, count.max(1));
    let mut done: Vec<(usize, T)> = if threads == 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// How often progress is printed at most.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Progress of a measurement on stderr: steps done of a total, at most every
/// [`PROGRESS_EVERY`], and a line when it ends. Silent for the CI subset.
#[derive(Debug)]
pub struct Progress {
    name: String,
    total: usize,
    done: AtomicUsize,
    started: Instant,
    printed: Mutex<Instant>,
    silent: bool,
}

impl Progress {
    /// Progress of `total` steps of measurement `name`, printed.
    pub fn new(name: &str, total: usize) -> Progress {
        let now = Instant::now();
        Progress {
            name: name.to_string(),
            total,
            done: AtomicUsize::new(0),
            started: now,
            printed: Mutex::new(now),
            silent: false,
        }
    }

    /// Progress that prints nothing.
    pub fn silent() -> Progress {
        Progress {
            silent: true,
            ..Progress::new("", 0)
        }
    }

    /// One step done.
    pub fn step(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.silent {
            return;
        }
        let mut printed = self.printed.lock().unwrap_or_else(|p| p.into_inner());
        if printed.elapsed() >= PROGRESS_EVERY {
            *printed = Instant::now();
            let elapsed = self.started.elapsed().as_secs_f64();
            let left = elapsed / done as f64 * self.total.saturating_sub(done) as f64;
            eprintln!(
                "{}: {done}/{} ({:.0} s, about {:.0} s left)",
                self.name, self.total, elapsed, left
            );
        }
    }

    /// Seconds since it started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The closing line.
    pub fn finish(&self) {
        if !self.silent {
            eprintln!(
                "{}: {} steps in {:.1} s",
                self.name,
                self.done.load(Ordering::Relaxed),
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}
