//! `SpanFile`: an export that appends every finished span to a file as one line of the flat
//! span-log schema that `ingest` reads back (`trace_id`, `span_id`, `parent_span_id`,
//! `operation_name`, `status`, `start_time`, `end_time`, `span_attributes`).
//!
//! This is how a swarm split across OS processes gets its evidence home: each worker
//! process writes its spans here and the parent ingests every file. Each line is written
//! and flushed as its span ends, so a worker killed with SIGKILL leaves every span it had
//! finished (at worst a torn last line, which ingestion reports by line and skips). Times are
//! integer nanoseconds since the Unix epoch, so nothing is lost to rounding. (Attribute
//! order is not kept: a JSON object has none.)
//!
//! The first line is the run's Resource (service, instance, host, pid, run id, seed), the
//! same one an OTLP export carries, written as an OTLP JSON document with no spans: any
//! OTLP JSON reader takes it, ingestion counts no span and skips no fragment for it, and
//! a person reading a worker's file sees which process and run wrote it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use serde_json::{json, Map, Value};

use super::record::{AttrValue, SpanRecord, SpanStatus};
use crate::error::{Error, Result};

/// The open file and the first write error, if one happened (reported at flush).
#[derive(Debug)]
struct Sink {
    out: BufWriter<File>,
    failure: Option<String>,
}

/// A span processor writing each finished span as a JSON line. Clones share the file, so
/// the caller can keep one to `finish` after handing another to the capture.
#[derive(Debug, Clone)]
pub struct SpanFile {
    sink: Arc<Mutex<Sink>>,
    path: PathBuf,
}

impl SpanFile {
    /// Creates (or truncates) `path` and writes `resource` as its first line.
    pub fn create(path: &Path, resource: &Resource) -> Result<Self> {
        let failed = |error: std::io::Error| Error::Store {
            path: path.to_path_buf(),
            problem: format!("cannot create the span file: {error}"),
        };
        let mut out = BufWriter::new(File::create(path).map_err(failed)?);
        let header = json!({ "resourceSpans": [{
            "resource": super::otlp::resource::to_otlp_json(resource),
            "scopeSpans": [],
        }]});
        writeln!(out, "{header}")
            .and_then(|()| out.flush())
            .map_err(failed)?;
        Ok(Self {
            sink: Arc::new(Mutex::new(Sink { out, failure: None })),
            path: path.to_path_buf(),
        })
    }

    /// Flushes the file and reports the first write that failed, if one did.
    pub fn finish(&self) -> Result<()> {
        self.force_flush().map_err(|error| Error::Store {
            path: self.path.clone(),
            problem: error.to_string(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sink> {
        // A panic while writing leaves at worst a torn line, which ingestion reports.
        self.sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One span as a span-log object.
pub fn to_span_log(span: &SpanRecord) -> Value {
    let mut object = Map::new();
    object.insert("trace_id".into(), format!("{:032x}", span.trace_id).into());
    object.insert("span_id".into(), span.span_id_hex().into());
    let parent = span.parent_span_id.map(|id| format!("{id:016x}"));
    object.insert("parent_span_id".into(), parent.into());
    object.insert("operation_name".into(), span.name.clone().into());
    let (status, message) = match &span.status {
        SpanStatus::Unset => ("unset", None),
        SpanStatus::Ok => ("ok", None),
        SpanStatus::Error(message) => ("error", Some(message.clone())),
    };
    object.insert("status".into(), status.into());
    if let Some(message) = message {
        object.insert("status_message".into(), message.into());
    }
    object.insert("start_time".into(), span.start_unix_ns.into());
    object.insert("end_time".into(), span.end_unix_ns.into());
    let attributes: Map<String, Value> = span
        .attributes
        .iter()
        .map(|(key, value)| {
            let value = match value {
                AttrValue::Str(text) => Value::from(text.clone()),
                AttrValue::Int(number) => Value::from(*number),
                AttrValue::Float(number) => Value::from(*number),
                AttrValue::Bool(flag) => Value::from(*flag),
            };
            (key.to_string(), value)
        })
        .collect();
    object.insert("span_attributes".into(), Value::Object(attributes));
    Value::Object(object)
}

impl SpanProcessor for SpanFile {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let line = to_span_log(&SpanRecord::from_span_data(&span)).to_string();
        let mut sink = self.lock();
        if sink.failure.is_some() {
            return;
        }
        let written = writeln!(sink.out, "{line}").and_then(|()| sink.out.flush());
        if let Err(error) = written {
            sink.failure = Some(error.to_string());
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut sink = self.lock();
        if let Some(failure) = &sink.failure {
            return Err(OTelSdkError::InternalFailure(format!(
                "writing the span file failed: {failure}"
            )));
        }
        sink.out
            .flush()
            .map_err(|error| OTelSdkError::InternalFailure(error.to_string()))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.force_flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest;
    use crate::telemetry::{Capture, CaptureLevel};
    use opentelemetry::trace::{Span as _, Status, Tracer as _};
    use opentelemetry::KeyValue;

    // Proves a span written to the file reads back through ingestion exactly as the capture
    // itself holds it: ids, parent, times, status and attributes; and that the first line is
    // the run's resource, which ingestion passes over without a skipped fragment.
    #[test]
    fn spans_round_trip_through_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("spans.jsonl");
        let run = crate::telemetry::otlp::RunAttributes::new(7, "memory");
        let resource = crate::telemetry::otlp::ResourceSettings::default()
            .with_run_id("run-7")
            .resource(Some(&run));
        let file = SpanFile::create(&path, &resource).expect("span file");
        let capture = Capture::with_exports(7, CaptureLevel::Spans, vec![Box::new(file)]);
        let tracer = capture.tracer();
        tracer.in_span("agent.session", |cx| {
            let mut child = tracer
                .span_builder("work.claim")
                .with_attributes(vec![
                    KeyValue::new("work.item_id", "w-1"),
                    KeyValue::new("work.stage", 2),
                    KeyValue::new("work.ok", true),
                ])
                .start_with_context(tracer, &cx);
            child.set_status(Status::error("lost \"race\"\n"));
            child.end();
        });
        capture.flush().expect("flush");
        // JSON objects do not keep key order, so attributes are compared sorted.
        let sorted = |mut spans: Vec<SpanRecord>| {
            for span in &mut spans {
                span.attributes.sort_by(|a, b| a.0.cmp(&b.0));
            }
            spans
        };
        let expected = sorted(capture.spans().expect("spans"));
        let read = ingest::read_path(&path).expect("ingest");
        assert_eq!(read.report.skipped_total, 0, "{}", read.report);
        assert_eq!(sorted(read.spans.clone()), expected);
        assert_eq!(read.spans.len(), 2);
        let text = std::fs::read_to_string(&path).expect("read back");
        let first: Value = serde_json::from_str(text.lines().next().unwrap_or_default())
            .expect("the first line is JSON");
        let attributes = &first["resourceSpans"][0]["resource"]["attributes"];
        let value = |key: &str| {
            attributes
                .as_array()
                .and_then(|list| list.iter().find(|kv| kv["key"] == key))
                .map(|kv| kv["value"].clone())
        };
        assert_eq!(
            value("service.name"),
            Some(json!({"stringValue": "swarmspec"}))
        );
        assert_eq!(
            value("swarmspec.run.id"),
            Some(json!({"stringValue": "run-7"}))
        );
        assert_eq!(value("swarmspec.seed"), Some(json!({"intValue": "7"})));
    }
}
