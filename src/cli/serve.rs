//! `--serve` for `swarmspec run`: starts the live view before the swarm, hands it the
//! agents' state board and the capture, and keeps it up for `--serve-linger` after the run.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use swarmspec::live::{LiveRun, LiveServer, ServeOptions};
use swarmspec::swarm::{Faults, SwarmConfig};

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
        let title = format!(
            "{} agents in {} team(s), {} items, seed {}, {} mode, {:?} contention",
            config.agent_count,
            config.effective_team_sizes().len(),
            config.item_count,
            config.seed,
            config.mode.as_str(),
            config.contention
        );
        let run = Arc::new(LiveRun::new(
            title,
            config.item_count as u64,
            describe_faults(&config.faults),
            finished,
        ));
        let options = ServeOptions {
            addr,
            token: args.serve_token.clone(),
        };
        let server = LiveServer::start(Arc::clone(&run), options).context("--serve")?;
        let hint = if args.serve_token.is_some() {
            "?token=TOKEN"
        } else {
            ""
        };
        eprintln!("live view: {}{hint}", server.url());
        Ok(Some(Self {
            run,
            server,
            linger: Duration::from_secs(args.serve_linger),
        }))
    }

    /// The run is over: the view makes its last check and stays up for the linger.
    pub fn finish(self) {
        self.run.end();
        if !self.linger.is_zero() {
            eprintln!(
                "live view: staying up {} s at {}",
                self.linger.as_secs(),
                self.server.url()
            );
        }
        self.server.finish(self.linger);
    }
}

/// The configured faults in words, for the page.
fn describe_faults(faults: &Faults) -> Vec<String> {
    let ms = |d: Duration| d.as_millis();
    let mut words = Vec::new();
    if let Some(crash) = faults.crash {
        words.push(format!(
            "{} agent(s) crash at {} ms",
            crash.agent_count,
            ms(crash.at)
        ));
    }
    if let Some(outage) = faults.outage {
        words.push(format!(
            "coordinator outage {}–{} ms",
            ms(outage.start),
            ms(outage.start + outage.length)
        ));
    }
    if let Some(partition) = faults.partition {
        words.push(format!(
            "team-{} partitioned {}–{} ms",
            partition.team,
            ms(partition.start),
            ms(partition.start + partition.length)
        ));
    }
    if let Some(slow) = faults.slow {
        words.push(format!(
            "{} slow agent(s) ×{}",
            slow.agent_count, slow.factor
        ));
    }
    if let Some(skew) = faults.skew {
        words.push(format!(
            "{} agent(s) with clocks {} ms off",
            skew.agent_count, skew.offset_ms
        ));
    }
    if faults.error_rate > 0.0 {
        words.push(format!("{:.1} % of calls fail", faults.error_rate * 100.0));
    }
    words
}
