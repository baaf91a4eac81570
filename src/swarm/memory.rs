//! Resident memory of this process, from `/proc` (Linux): the run's peak growth is what the
//! memory claims rest on. Elsewhere the figures are simply absent, never guessed.

/// Resident-set figures in bytes, read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rss {
    /// Resident now.
    pub current_bytes: u64,
    /// Highest resident since the last reset.
    pub peak_bytes: u64,
}

fn status_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads the figures, or `None` where `/proc/self/status` does not exist.
pub fn read() -> Option<Rss> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(Rss {
        current_bytes: status_kib(&status, "VmRSS:")? * 1024,
        peak_bytes: status_kib(&status, "VmHWM:")? * 1024,
    })
}

/// Memory the machine has available for a new run (`MemAvailable`), or `None` where
/// `/proc/meminfo` does not exist.
pub fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    Some(status_kib(&meminfo, "MemAvailable:")? * 1024)
}

/// Resets the peak to the current figure, so a later `read` sees the peak of what follows.
/// Returns whether the kernel accepted the reset.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
