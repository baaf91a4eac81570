//! What watching costs: the same swarm with and without the live view attached, where
//! "attached" is what `run --serve` with a page open does in this process — the view's
//! sampling and invariant-checking threads, the HTTP server, and one client subscribed to
//! the event stream reading every event (the browser's drawing happens in the browser's
//! process, so it is not part of the swarm's cost). Runs alternate, watched and not, so a
//! machine that gets busier during the bench slows both alike; the figure is the ratio of
//! the medians.

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
    /// Median watched over median unwatched (1.0: no cost).
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

/// One swarm of `shape` with the live view attached and a client subscribed: its claim
/// rate over the agents' window, and the events the client read.
fn watched_once(shape: &SwarmShape) -> Result<(f64, u64)> {
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
    Ok((claims / window_s, events))
}

/// `repeats` runs each way, alternating, starting unwatched.
pub fn measure(shape: &SwarmShape, repeats: usize) -> Result<LiveOverhead> {
    let (mut unwatched, mut watched, mut events_read) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeats {
        let Sample { rate_per_s, .. } = swarm_once(shape)?;
        unwatched.push(rate_per_s);
        let (rate, events) = watched_once(shape)?;
        watched.push(rate);
        events_read.push(events);
    }
    let none = || Error::Capture("no live-overhead sample".into());
    let unwatched = Stats::of(unwatched).ok_or_else(none)?;
    let watched = Stats::of(watched).ok_or_else(none)?;
    let ratio = if unwatched.median > 0.0 {
        watched.median / unwatched.median
    } else {
        0.0
    };
    Ok(LiveOverhead {
        shape: *shape,
        unwatched,
        watched,
        events_read,
        ratio,
    })
}
