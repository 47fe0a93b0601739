//! The one scoped-thread fan-out: work spread over a thread budget, results in order, a panic
//! in a worker re-raised on the caller's thread. Features of an evaluation, columns of a
//! baseline, Parquet column groups and MMD tiles all go through it.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` run once on each of `threads` scoped threads (on the caller's alone when `threads` is
/// 1), results in thread order. The workers share their work through whatever `f` captures.
pub fn on_threads<R: Send>(threads: usize, f: impl Fn() -> R + Sync) -> Vec<R> {
    let threads = threads.max(1);
    if threads == 1 {
        return vec![f()];
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads).map(|_| scope.spawn(&f)).collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// `f` over `items` on up to `threads` scoped threads, each taking the next item in turn (so a
/// slow item does not hold up a fixed share of the rest), results in `items` order.
pub fn map_ordered<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = on_threads(threads, || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            done.push((i, f(item)));
        }
        done
    })
    .into_iter()
    .flatten()
    .collect();
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_item_order_whatever_the_threads() {
        let items: Vec<u64> = (0..100).collect();
        for threads in [0, 1, 3, 200] {
            let squares = map_ordered(&items, threads, |x| x * x);
            assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
        }
        assert_eq!(on_threads(3, || 7), [7, 7, 7]);
    }

    #[test]
    #[should_panic(expected = "item 5")]
    fn a_panic_in_a_worker_reaches_the_caller() {
        let items: Vec<u64> = (0..10).collect();
        map_ordered(&items, 4, |&x| assert!(x != 5, "item {x}"));
    }
}
