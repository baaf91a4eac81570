//! The live page: one HTML file with its own CSS and script, nothing fetched from elsewhere
//! (users watch behind firewalls, CI has no internet). The script draws the charts as SVG
//! from the ticks it keeps, bounded like the server's ring.

/// The page, compiled in.
pub const PAGE: &str = include_str!("page.html");
