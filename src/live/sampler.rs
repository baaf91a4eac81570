//! The two threads that feed the view: a ticker that samples counters and histograms every
//! `SAMPLE_EVERY`, and a checker that runs the invariant checks on span snapshots as often
//! as `Cadence` allows. Neither touches the swarm's tasks: both read what the capture and
//! the shared counters already hold.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::incremental::IncrementalCheck;
use super::invariants::{self, Cadence, InvariantPanel};
use super::{lock, LiveRun};
use crate::compliance::secrets::SecretScanner;
use crate::telemetry::Capture;

/// How often the page gets a new tick (twice a second, so a second never passes without
/// one).
pub const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// How often a sleeping thread looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The running threads; stopping joins them.
pub(crate) struct Samplers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Samplers {
    /// Starts both threads; each tick's event is published on `events`.
    pub(crate) fn start(run: Arc<LiveRun>, events: watch::Sender<Arc<String>>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (run, stop) = (Arc::clone(&run), Arc::clone(&stop));
            std::thread::spawn(move || tick_loop(&run, &stop, &events))
        };
        let checker = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || check_loop(&run, &stop))
        };
        Self {
            stop,
            threads: vec![ticker, checker],
        }
    }

    /// Starts one thread that publishes `event()` every `SAMPLE_EVERY` (a view whose state
    /// is pushed to it, as a verify run's board is, needs no sampling of its own).
    pub(crate) fn ticking(
        event: impl Fn() -> String + Send + 'static,
        events: watch::Sender<Arc<String>>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || loop {
                events.send_replace(Arc::new(event()));
                if sleep_unless(&stop, SAMPLE_EVERY, || false) {
                    return;
                }
            })
        };
        Self {
            stop,
            threads: vec![ticker],
        }
    }

    /// Stops and joins the threads.
    pub(crate) fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            // A panicked sampler only loses the live view; the run's verdicts stand.
            let _ = thread.join();
        }
    }
}

impl Drop for Samplers {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Sleeps `wait`, waking early when `stop` is set or `wake` says so; returns whether
/// `stop` was set.
fn sleep_unless(stop: &AtomicBool, wait: Duration, wake: impl Fn() -> bool) -> bool {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        if stop.load(Ordering::Acquire) {
            return true;
        }
        if wake() {
            return false;
        }
        std::thread::sleep(STOP_POLL.min(until.saturating_duration_since(Instant::now())));
    }
    stop.load(Ordering::Acquire)
}

fn tick_loop(run: &LiveRun, stop: &AtomicBool, events: &watch::Sender<Arc<String>>) {
    loop {
        let tick = run.sample();
        events.send_replace(Arc::new(run.event_json(tick.as_ref())));
        if sleep_unless(stop, SAMPLE_EVERY, || false) {
            return;
        }
    }
}

/// Lowers the calling thread's scheduling priority to the least (Linux applies
/// setpriority(2) to one thread when given its id): on a machine with few cores the
/// checker then waits for the swarm's workers, not they for it.
fn yield_to_the_swarm() {
    // SAFETY: gettid(2) and setpriority(2) take and return plain integers; a refusal only
    // leaves the thread at its priority.
    unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let _ = libc::setpriority(libc::PRIO_PROCESS, thread, 19);
    }
}

/// What the checker has read of the capture it watches: a compact capture is read in steps
/// (`IncrementalCheck`); any other is checked whole each time.
struct Reader {
    capture: Arc<Capture>,
    stepwise: IncrementalCheck,
}

impl Reader {
    fn new(capture: Arc<Capture>) -> Self {
        Self {
            capture,
            stepwise: IncrementalCheck::default(),
        }
    }

    /// Spans the next look would have to check.
    fn unread(&self) -> usize {
        let held = self.capture.span_count().unwrap_or(0);
        if self.capture.compact_store().is_some() {
            held.saturating_sub(self.stepwise.spans_checked())
        } else {
            held
        }
    }

    /// One look: the panel, and how many spans it checked.
    fn look(&mut self, snapshots: u64) -> (InvariantPanel, usize) {
        let failed = |error: crate::error::Error| InvariantPanel {
            problem: Some(error.to_string()),
            ..InvariantPanel::default()
        };
        match self.capture.compact_store().map(|store| store.snapshot()) {
            Some(Ok(snapshot)) => {
                let unread = self.stepwise.unread(&snapshot);
                self.stepwise.advance(&snapshot);
                (self.stepwise.panel(snapshots), unread)
            }
            Some(Err(error)) => (failed(error), 0),
            None => match self.capture.spans() {
                Ok(spans) => (invariants::check(&spans, snapshots), spans.len()),
                Err(error) => (failed(error), 0),
            },
        }
    }
}

fn check_loop(run: &LiveRun, stop: &AtomicBool) {
    yield_to_the_swarm();
    let scanner = SecretScanner::new();
    let mut snapshots = 0;
    let mut cadence = Cadence::default();
    let mut last_ended: Option<Instant> = None;
    let mut reader: Option<Reader> = None;
    // The end of the run cuts any gap short: the final check comes promptly.
    let end_unchecked = || run.ended() && !run.checked_after_end.load(Ordering::Acquire);
    loop {
        let mut gap = Cadence::MIN_GAP;
        let done = run.checked_after_end.load(Ordering::Acquire);
        if let (Some(capture), false) = (run.capture(), done) {
            let reader = match &mut reader {
                Some(reader) if Arc::ptr_eq(&reader.capture, &capture) => reader,
                _ => reader.insert(Reader::new(capture)),
            };
            // Read before the snapshot: a snapshot taken after the end holds every span.
            let ended = run.ended();
            let due = cadence.gap_before(reader.unread());
            let waited = last_ended.map_or(due, |at| at.elapsed());
            if !ended && waited < due {
                if sleep_unless(stop, (due - waited).min(Cadence::MIN_GAP), end_unchecked) {
                    return;
                }
                continue;
            }
            let began = Instant::now();
            snapshots += 1;
            let (panel, checked) = reader.look(snapshots);
            cadence.learn(checked, began.elapsed());
            let panel = scrubbed(panel, &scanner);
            gap = Cadence::gap_after(began.elapsed());
            last_ended = Some(Instant::now());
            // Under the state lock: a final panel set meanwhile (`LiveRun::end_with`) is
            // newer than this one and stays.
            let mut state = lock(&run.state);
            if !run.checked_after_end.load(Ordering::Acquire) {
                state.panel = panel;
                if ended {
                    run.checked_after_end.store(true, Ordering::Release);
                }
            }
        }
        if sleep_unless(stop, gap, end_unchecked) {
            return;
        }
    }
}

/// The panel with any evidence line the secret scanner flags withheld: evidence quotes span
/// attributes, and a system under test may have put a credential in one.
pub(crate) fn scrubbed(mut panel: InvariantPanel, scanner: &SecretScanner) -> InvariantPanel {
    for check in &mut panel.checks {
        for line in &mut check.evidence {
            if !scanner.scan_text("live", line).findings.is_empty() {
                *line = "[withheld: the secret scanner flagged this line]".into();
            }
        }
    }
    panel
}
