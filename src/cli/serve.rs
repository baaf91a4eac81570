//! The live view from the command line: `--serve` for `swarmspec run` (starts the view
//! before the swarm, hands it the agents' state board and the capture) and for `swarmspec
//! verify` (hands the suite runner a board it tells of every scenario), each kept up for
//! `--serve-linger` after the run; and `swarmspec serve DIR`, which serves a finished run
//! from its files.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use swarmspec::claims::Ledger;
use swarmspec::live::{LiveRun, LiveServer, Replay, ServeOptions, SuiteBoard};
use swarmspec::swarm::SwarmConfig;

/// The live-view options a command takes.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve a live view of the run in the browser at ADDR (default 127.0.0.1:0, any free
    /// port; the URL is printed on stderr). Read-only; off loopback it needs --serve-token.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:0")]
    pub serve: Option<SocketAddr>,
    /// Keep the live view up this many seconds after the run ends.
    #[arg(long, value_name = "SECONDS", default_value_t = 0, requires = "serve")]
    pub serve_linger: u64,
    /// The token the live view demands (`?token=` on the URL, or a bearer header); required
    /// when --serve binds an address other than loopback.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SWARMSPEC_SERVE_TOKEN",
        hide_env_values = true
    )]
    pub serve_token: Option<String>,
}

/// A live view watching one run.
pub struct Watching {
    /// What the view shows.
    pub run: Arc<LiveRun>,
    server: LiveServer,
    linger: Duration,
}

impl Watching {
    /// Starts the view if `--serve` was given.
    pub fn start(
        args: &ServeArgs,
        config: &SwarmConfig,
        finished: Arc<AtomicU64>,
    ) -> anyhow::Result<Option<Self>> {
        let Some(addr) = args.serve else {
            return Ok(None);
        };
        let run = Arc::new(LiveRun::of_swarm(config, finished));
        let options = ServeOptions {
            addr,
            token: args.serve_token.clone(),
        };
        let server = LiveServer::start(Arc::clone(&run), options).context("--serve")?;
        announce(&server, args.serve_token.is_some());
        Ok(Some(Self {
            run,
            server,
            linger: Duration::from_secs(args.serve_linger),
        }))
    }

    /// The run is over: the view makes its last check and stays up for the linger.
    pub fn finish(self) {
        self.run.end();
        linger_then_stop(self.server, self.linger);
    }
}

/// Prints where the view is (the token itself never).
fn announce(server: &LiveServer, token: bool) {
    let hint = if token { "?token=TOKEN" } else { "" };
    eprintln!("live view: {}{hint}", server.url());
}

/// Keeps `server` up for `linger`, saying so, then stops it.
fn linger_then_stop(server: LiveServer, linger: Duration) {
    if !linger.is_zero() {
        eprintln!(
            "live view: staying up {} s at {}",
            linger.as_secs(),
            server.url()
        );
    }
    server.finish(linger);
}

/// A live view watching one verify run.
pub struct WatchingSuite {
    /// What the suite runner tells of every scenario.
    pub board: Arc<SuiteBoard>,
    server: LiveServer,
    linger: Duration,
}

impl WatchingSuite {
    /// Starts the view if `--serve` was given; the page links to the reports in `out`.
    pub fn start(
        args: &ServeArgs,
        title: String,
        ledger: &Ledger,
        out: PathBuf,
    ) -> anyhow::Result<Option<Self>> {
        let Some(addr) = args.serve else {
            return Ok(None);
        };
        let board = Arc::new(SuiteBoard::new(title, Some(ledger.clone()), out));
        let options = ServeOptions {
            addr,
            token: args.serve_token.clone(),
        };
        let server = LiveServer::start_suite(Arc::clone(&board), options).context("--serve")?;
        announce(&server, args.serve_token.is_some());
        Ok(Some(Self {
            board,
            server,
            linger: Duration::from_secs(args.serve_linger),
        }))
    }

    /// The run is over: the page shows the end and stays up for the linger.
    pub fn finish(self) {
        self.board.end();
        linger_then_stop(self.server, self.linger);
    }
}

/// Options of `swarmspec serve`.
#[derive(Debug, Args)]
pub struct ServeDirArgs {
    /// A reports directory (with history.jsonl and a directory per run), one run's report
    /// directory, or a directory of span files written by `run --spans-out`.
    #[arg(default_value = "reports")]
    dir: PathBuf,
    /// Where to serve (port 0: any free port; the URL is printed on stderr). Off loopback
    /// it needs --token.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The token the page demands (`?token=` or a bearer header); required off loopback.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SWARMSPEC_SERVE_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Stop after this many seconds (default: serve until interrupted).
    #[arg(long = "for", value_name = "SECONDS")]
    for_seconds: Option<u64>,
}

/// Serves a finished run, read-only, until interrupted or `--for` has passed.
pub fn serve_dir(args: ServeDirArgs) -> anyhow::Result<ExitCode> {
    let replay = Replay::open(&args.dir).context("swarmspec serve")?;
    let options = ServeOptions {
        addr: args.addr,
        token: args.token.clone(),
    };
    let server = LiveServer::start_replay(Arc::new(replay), options).context("swarmspec serve")?;
    announce(&server, args.token.is_some());
    match args.for_seconds {
        Some(seconds) => server.finish(Duration::from_secs(seconds)),
        // Nothing to flush on the way out: an interrupt ends the process as it is.
        None => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
    Ok(ExitCode::SUCCESS)
}
