//! `ExportReport`: the account an export gives of its spans, for a person to act on.

use std::fmt;

use super::QUEUE_SPANS_MAX;

/// What became of the spans handed to an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// Where they were posted.
    pub traces_url: String,
    /// Spans the export was handed.
    pub spans_ended: u64,
    /// Spans the collector accepted.
    pub spans_sent: u64,
    /// Spans in batches that failed, or that were not attempted once the collector was down.
    pub spans_failed: u64,
    /// Neither sent nor failed: dropped because the queue was full, or still in flight when
    /// the flush gave up (`flush_error` says which).
    pub spans_unaccounted: u64,
    /// The failure that marked the collector down, if one did.
    pub collector_error: Option<String>,
    /// Why the final flush did not complete, if it did not.
    pub flush_error: Option<String>,
}

impl ExportReport {
    /// Whether every span handed to the export reached the collector.
    pub fn is_complete(&self) -> bool {
        self.spans_sent == self.spans_ended && self.flush_error.is_none()
    }
}

impl fmt::Display for ExportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OTLP export to {}: {} of {} spans sent",
            self.traces_url, self.spans_sent, self.spans_ended
        )?;
        if self.spans_failed > 0 {
            write!(f, "; {} in failed batches", self.spans_failed)?;
        }
        if self.spans_unaccounted > 0 {
            // With a clean flush, a span neither sent nor failed can only have been dropped
            // at the queue; after a failed flush it may still have been in flight.
            let fate = if self.flush_error.is_none() {
                format!(
                    "dropped because the export queue ({QUEUE_SPANS_MAX} spans) was full: \
                     the collector did not keep up"
                )
            } else {
                "unconfirmed when the final flush gave up".to_owned()
            };
            write!(f, "; {} {fate}", self.spans_unaccounted)?;
        }
        if let Some(error) = &self.collector_error {
            write!(f, "; gave up on the collector after: {error}")?;
        }
        if let Some(error) = &self.flush_error {
            write!(f, "; final flush: {error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sent: u64, failed: u64, flush_error: Option<&str>) -> ExportReport {
        ExportReport {
            traces_url: "http://127.0.0.1:4318/v1/traces".into(),
            spans_ended: 10,
            spans_sent: sent,
            spans_failed: failed,
            spans_unaccounted: 10 - sent - failed,
            collector_error: (failed > 0).then(|| "connection refused".into()),
            flush_error: flush_error.map(Into::into),
        }
    }

    // Each way a span can be lost is named, with what it means; a whole export says only that.
    #[test]
    fn says_what_became_of_every_span() {
        let whole = report(10, 0, None);
        assert!(whole.is_complete());
        assert!(
            whole.to_string().ends_with("10 of 10 spans sent"),
            "{whole}"
        );
        let dropped = report(7, 0, None);
        assert!(!dropped.is_complete());
        assert!(dropped
            .to_string()
            .contains("3 dropped because the export queue"));
        let failed = report(0, 6, Some("timed out"));
        let text = failed.to_string();
        assert!(
            text.contains("6 in failed batches; 4 unconfirmed"),
            "{text}"
        );
        assert!(text.contains("connection refused") && text.contains("timed out"));
    }
}
