//! A progress bar that appears only when a job outlives a second, so quick runs stay quiet.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a job runs before its bar is drawn.
const QUIET_PERIOD: Duration = Duration::from_secs(1);
/// How often the bar is refreshed.
const REFRESH: Duration = Duration::from_millis(100);

/// A bar over `total` units that reads `done` until finished.
pub struct DelayedBar {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DelayedBar {
    /// Starts watching `done` (units finished out of `total`, if known), labelled `what`.
    pub fn start(total: Option<u64>, done: Arc<AtomicU64>, what: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_seen = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let began = Instant::now();
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
            let template = if total.is_some() {
                "{elapsed_precise} [{bar:40}] {pos}/{len} {msg} ({per_sec})"
            } else {
                "{elapsed_precise} {spinner} {pos} {msg}"
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("=> "));
            bar.set_message(what);
            let mut shown = false;
            while !stop_seen.load(Ordering::Acquire) {
                if !shown && began.elapsed() >= QUIET_PERIOD {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    shown = true;
                }
                bar.set_position(done.load(Ordering::Relaxed));
                std::thread::sleep(REFRESH);
            }
            bar.set_position(done.load(Ordering::Relaxed));
            if shown {
                bar.finish();
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for DelayedBar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            // A panicked bar thread only loses the bar; the job's result stands.
            let _ = thread.join();
        }
    }
}
