//! Durations printed in the unit that shows them: a claim taking 412 ns reads "412 ns", not
//! "0.0 µs" or "0.000 ms".

/// `value_ms` milliseconds as three significant digits in ns, µs, ms or s, whichever puts
/// the figure between 1 and 1000 (0 is "0 ns"; a non-finite value prints as it is).
pub fn duration(value_ms: f64) -> String {
    if !value_ms.is_finite() {
        return format!("{value_ms} ms");
    }
    let ns = value_ms * 1e6;
    if ns.abs() < 0.5 {
        return "0 ns".to_owned();
    }
    let (scaled, unit) = if ns.abs() < 1e3 {
        (ns, "ns")
    } else if ns.abs() < 1e6 {
        (ns / 1e3, "µs")
    } else if ns.abs() < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = match scaled.abs() {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        _ => 2,
    };
    // A value that rounds up to the next unit's 1000 stays in this unit: "1000 ns" is exact
    // enough and never reads as a smaller figure.
    format!("{scaled:.decimals$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::duration;

    // Proves sub-microsecond latencies print in ns with their digits, and larger ones move
    // to µs, ms and s, so no figure prints as "0.0 µs".
    #[test]
    fn each_figure_in_a_unit_that_shows_it() {
        assert_eq!(duration(0.000_412), "412 ns");
        assert_eq!(duration(0.000_042_3), "42.3 ns");
        assert_eq!(duration(0.000_001_5), "1.50 ns");
        assert_eq!(duration(0.0153), "15.3 µs");
        assert_eq!(duration(2.5), "2.50 ms");
        assert_eq!(duration(1530.0), "1.53 s");
        assert_eq!(duration(0.0), "0 ns");
        assert!(!duration(0.000_05).starts_with("0.0"));
    }
}
