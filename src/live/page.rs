//! The live page: one HTML document with its own CSS and scripts, nothing fetched from
//! elsewhere (users watch behind firewalls, CI has no internet). The first script draws a
//! swarm run (charts as SVG from the ticks it keeps, bounded like the server's ring); the
//! second draws a verify run, a replayed one, and picks the view the snapshot names. They
//! are two files only to keep each readable; the page is their concatenation.

/// The page, compiled in.
pub const PAGE: &str = concat!(
    include_str!("page.html"),
    "<script>\n",
    include_str!("page_views.js"),
    "</script>\n</body>\n</html>\n"
);
