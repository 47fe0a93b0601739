//! Cooperative yielding for long computations that share a CPU with latency-sensitive threads.
//!
//! A thread scheduled below others (the sidecar's engine and decoder run under Linux's
//! `SCHED_IDLE`) still gets the CPU now and then, and once it has it the kernel lets it run
//! until the next scheduler tick — 4 ms at the common `HZ=250` — while the threads it should
//! give way to wait. Calling [`checkpoint`] between units of work bounds that: at most `every`
//! after the thread last offered its CPU, it offers it again (`sched_yield`), and the scheduler
//! runs whatever else is waiting. When nothing is, the yield returns at once (a system call,
//! about a microsecond).

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    /// When the calling thread last offered its CPU (or first reached a checkpoint).
    static LAST_YIELD: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Offers the calling thread's CPU to other runnable threads if `every` has passed since it
/// last did. Cheap when not due: one clock read.
pub fn checkpoint(every: Duration) {
    LAST_YIELD.with(|last| {
        let now = Instant::now();
        match last.get() {
            Some(at) if now.duration_since(at) < every => {}
            Some(_) => {
                std::thread::yield_now();
                last.set(Some(Instant::now()));
            }
            None => last.set(Some(now)),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the calling thread's next [`checkpoint`] with `every` would yield.
    fn due(every: Duration) -> bool {
        LAST_YIELD.with(|last| last.get().is_none_or(|at| at.elapsed() >= every))
    }

    #[test]
    fn a_checkpoint_yields_only_once_the_interval_has_passed() {
        // A fresh thread: its own clock of yields.
        std::thread::spawn(|| {
            let every = Duration::from_millis(20);
            assert!(due(every), "never yielded");
            checkpoint(every);
            assert!(!due(every), "the first checkpoint starts the clock");
            checkpoint(every);
            let before = LAST_YIELD.with(Cell::get);
            std::thread::sleep(every);
            assert!(due(every));
            checkpoint(every);
            let after = LAST_YIELD.with(Cell::get);
            assert!(after > before, "yielded and restarted the clock");
            assert!(!due(every));
        })
        .join()
        .expect("test thread");
    }
}
