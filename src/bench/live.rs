//! What watching costs: the same swarm with and without the live view attached, where
//! "attached" is what `run --serve` with a page open does in this process — the view's
//! sampling and invariant-checking threads, the HTTP server, and one client subscribed to
//! the event stream reading every event (the browser's drawing happens in the browser's
//! process, so it is not part of the swarm's cost).
//!
//! On two cores one run's rate wanders by ±15 % either way, more than the 5 % to be shown,
//! so the runs come in pairs, one watched and one not, in ABBA order (unwatched first in
//! even pairs, watched first in odd ones): a machine that gets busier or a heap that grows
//! over the bench weighs on both sides alike. The figure is the median of the pairs'
//! ratios, which a single slow run moves less than a ratio of two medians.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::limits::Sample;
use super::swarm::{swarm_once, SwarmShape, BENCH_SEED};
use super::Stats;
use crate::error::{Error, Result};
use crate::live::{LiveRun, LiveServer, ServeOptions};
use crate::swarm::Swarm;
use crate::telemetry::{Capture, OpKind};

/// The two medians and their ratio.
#[derive(Debug, Clone, Serialize)]
pub struct LiveOverhead {
    /// The swarm measured (the same both ways).
    pub shape: SwarmShape,
    /// Claims per second of the agents' window, nobody watching.
    pub unwatched: Stats,
    /// The same with the live view attached and a client reading its events.
    pub watched: Stats,
    /// Events the client read per watched run (at least one a run, or the client never
    /// subscribed and the figure measures nothing).
    pub events_read: Vec<u64>,
    /// Each pair's watched rate over its unwatched rate, in pair order.
    pub pair_ratios: Vec<f64>,
    /// Invariant snapshots the view checked per watched run: the last after the agents
    /// end, the first usually before they start (a run of milliseconds may end first), so
    /// only a count above two shows the checker ran while they did.
    pub snapshots: Vec<u64>,
    /// The median of the pairs' ratios (1.0: no cost).
    pub ratio: f64,
}

/// Reads the event stream at `addr` until `stop`; returns the events read.
fn subscribe(addr: SocketAddr, stop: &AtomicBool) -> u64 {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let request =
        format!("GET /events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let (mut events, mut buffer) = (0u64, [0u8; 1 << 16]);
    while !stop.load(Ordering::Acquire) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                events += buffer[..n]
                    .windows(11)
                    .filter(|w| *w == b"event: tick")
                    .count() as u64;
            }
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    events
}

/// One watched run: its claim rate over the agents' window, the events the client read and
/// the invariant snapshots the view checked.
struct Watched {
    rate_per_s: f64,
    events: u64,
    snapshots: u64,
}

/// One swarm of `shape` with the live view attached and a client subscribed.
fn watched_once(shape: &SwarmShape) -> Result<Watched> {
    let capture = Arc::new(Capture::with_level(BENCH_SEED, shape.level));
    let swarm = Swarm::new(shape.config());
    let view = Arc::new(LiveRun::new(
        "bench".into(),
        shape.item_count as u64,
        Vec::new(),
        swarm.finished_counter(),
    ));
    let swarm = swarm.watched_by(Arc::clone(&view.agents));
    view.watch(Arc::clone(&capture));
    let options = ServeOptions {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        token: None,
    };
    let server = LiveServer::start(Arc::clone(&view), options)?;
    let addr: SocketAddr = server
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .map_err(|_| Error::Live(format!("the view's own URL {}", server.url())))?;
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || subscribe(addr, &stop))
    };
    // The client is subscribed before the swarm starts, as a page opened on the URL is.
    std::thread::sleep(Duration::from_millis(200));
    let outcome = swarm.run(Arc::clone(&capture));
    view.end();
    // One more tick reaches the client after the end, as the page's final state does.
    std::thread::sleep(crate::live::SAMPLE_EVERY);
    stop.store(true, Ordering::Release);
    let events = client.join().unwrap_or(0);
    server.finish(Duration::ZERO);
    let outcome = outcome?;
    let claims = capture
        .latencies()
        .summary(OpKind::Claim)
        .map_or(0.0, |s| s.count as f64);
    let window_s = (outcome.agents_duration_ns as f64 / 1e9).max(f64::MIN_POSITIVE);
    Ok(Watched {
        rate_per_s: claims / window_s,
        events,
        snapshots: view.invariant_snapshots(),
    })
}

/// `pairs` pairs of runs, one unwatched and one watched, in ABBA order.
pub fn measure(shape: &SwarmShape, pairs: usize) -> Result<LiveOverhead> {
    let (mut unwatched, mut watched) = (Vec::new(), Vec::new());
    let (mut events_read, mut snapshots, mut pair_ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..pairs {
        let (plain, seen) = if pair % 2 == 0 {
            let plain = swarm_once(shape)?;
            (plain, watched_once(shape)?)
        } else {
            let seen = watched_once(shape)?;
            (swarm_once(shape)?, seen)
        };
        let Sample { rate_per_s, .. } = plain;
        pair_ratios.push(if rate_per_s > 0.0 {
            seen.rate_per_s / rate_per_s
        } else {
            0.0
        });
        unwatched.push(rate_per_s);
        watched.push(seen.rate_per_s);
        events_read.push(seen.events);
        snapshots.push(seen.snapshots);
    }
    let none = || Error::Capture("no live-overhead sample".into());
    let ratio = Stats::of(pair_ratios.clone()).ok_or_else(none)?.median;
    let unwatched = Stats::of(unwatched).ok_or_else(none)?;
    let watched = Stats::of(watched).ok_or_else(none)?;
    Ok(LiveOverhead {
        shape: *shape,
        unwatched,
        watched,
        events_read,
        pair_ratios,
        snapshots,
        ratio,
    })
}
