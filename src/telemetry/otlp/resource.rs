//! The OpenTelemetry Resource every exported span carries: which service, which process,
//! which run.
//!
//! A backend files spans by `service.name` (without one they land under `unknown_service`),
//! and tells the processes of one service apart by `service.instance.id`; the run
//! attributes (`swarmspec.run.id`, `swarmspec.seed`, `swarmspec.system`) let a person find
//! one night's run, replay its seed, and see which system was under test. The resource is
//! built here, not by the SDK's detectors, because those read `OTEL_SERVICE_NAME` and
//! `OTEL_RESOURCE_ATTRIBUTES` without reporting a malformed value: here a bad variable is an
//! error naming it, before the run starts.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::Resource;
use serde_json::{json, Value};

use super::settings::{non_empty, parse_pairs, setting_error};
use crate::error::Result;

/// The variable naming the service (wins over a `service.name` in the attributes).
pub const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";

/// The variable adding resource attributes, as `key=value,…` with percent-encoded values.
pub const RESOURCE_ATTRIBUTES_VAR: &str = "OTEL_RESOURCE_ATTRIBUTES";

/// `service.name` when neither variable names one.
pub const SERVICE_NAME_DEFAULT: &str = "swarmspec";

/// The attribute holding the run's id.
pub const RUN_ID_KEY: &str = "swarmspec.run.id";

/// The attribute holding the run's seed.
pub const SEED_KEY: &str = "swarmspec.seed";

/// The attribute naming the system under test (`memory`, `file`, …).
pub const SYSTEM_KEY: &str = "swarmspec.system";

/// What the environment says about the resource, plus the process's run id: the same for
/// every capture of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSettings {
    /// `service.name`.
    pub service_name: String,
    /// Attributes from `OTEL_RESOURCE_ATTRIBUTES`, in the order given (later keys win).
    pub attributes: Vec<(String, String)>,
    /// The run this process belongs to (`swarmspec.run.id`), if the caller named one.
    pub run_id: Option<String>,
}

impl Default for ResourceSettings {
    fn default() -> Self {
        Self {
            service_name: SERVICE_NAME_DEFAULT.to_owned(),
            attributes: Vec::new(),
            run_id: None,
        }
    }
}

/// What identifies one capture within its process's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAttributes {
    /// The seed the capture's run was started with.
    pub seed: u64,
    /// The system under test: `memory`, `file`, `command`.
    pub system: String,
}

impl RunAttributes {
    /// A run with `seed` against `system`.
    pub fn new(seed: u64, system: impl Into<String>) -> Self {
        Self {
            seed,
            system: system.into(),
        }
    }
}

impl ResourceSettings {
    /// Reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` through `env` (empty means
    /// unset, as the specification says).
    pub fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let mut settings = Self::default();
        if let Some(text) = non_empty(env(RESOURCE_ATTRIBUTES_VAR)) {
            settings.attributes = parse_pairs(&text)
                .map_err(|problem| setting_error(RESOURCE_ATTRIBUTES_VAR, problem))?;
            if let Some((_, name)) = settings
                .attributes
                .iter()
                .rev()
                .find(|(key, _)| key == "service.name")
            {
                settings.service_name = name.clone();
            }
        }
        if let Some(name) = non_empty(env(SERVICE_NAME_VAR)) {
            settings.service_name = name.trim().to_owned();
        }
        Ok(settings)
    }

    /// Reads the process's environment.
    pub fn from_env() -> Result<Self> {
        Self::resolve(&|name| std::env::var(name).ok())
    }

    /// The same settings, with the run id every capture of this process will carry.
    pub fn with_run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    /// The resource for one capture. Precedence, lowest first: what swarmspec detects about
    /// the process, then `OTEL_RESOURCE_ATTRIBUTES` (a person may know better, e.g. a
    /// `service.instance.id` of their own), then the service name, then the run's facts,
    /// which describe what was measured and so are not overridden.
    pub fn resource(&self, run: Option<&RunAttributes>) -> Resource {
        let mut builder = Resource::builder_empty()
            .with_detector(Box::new(TelemetryResourceDetector))
            .with_attributes(process_attributes())
            .with_attributes(
                self.attributes
                    .iter()
                    .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
            )
            .with_service_name(self.service_name.clone());
        if let Some(run_id) = &self.run_id {
            builder = builder.with_attribute(KeyValue::new(RUN_ID_KEY, run_id.clone()));
        }
        if let Some(run) = run {
            builder = builder.with_attributes([
                // OTLP integers are signed; a seed past i64::MAX keeps its bits.
                KeyValue::new(SEED_KEY, run.seed as i64),
                KeyValue::new(SYSTEM_KEY, run.system.clone()),
            ]);
        }
        builder.build()
    }
}

/// What is true of this process whatever the run: version, instance, host, pid.
fn process_attributes() -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("service.instance.id", instance_id().to_owned()),
        KeyValue::new("process.pid", i64::from(std::process::id())),
    ];
    if let Some(host) = host_name() {
        attributes.push(KeyValue::new("host.name", host));
    }
    attributes
}

/// A random UUID (version 4) drawn once per process, so that workers of one split run,
/// started from the same binary on the same host, are still told apart.
pub fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let bits: u128 = rand::random();
        // Version 4 and the RFC 4122 variant, as the semantic conventions recommend.
        let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
        let hex = format!("{bits:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    })
}

/// The host's name from the kernel (Linux), else `HOSTNAME`; none when neither says.
fn host_name() -> Option<String> {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    from_kernel
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// A resource in the OTLP JSON mapping (`{"attributes": [{"key", "value"}]}`), keys sorted
/// so that the same resource always reads the same.
pub fn to_otlp_json(resource: &Resource) -> Value {
    let mut attributes: Vec<(String, Value)> = resource
        .iter()
        .map(|(key, value)| {
            let value = match value {
                opentelemetry::Value::Bool(flag) => json!({ "boolValue": flag }),
                // The JSON mapping writes 64-bit integers as strings.
                opentelemetry::Value::I64(number) => json!({ "intValue": number.to_string() }),
                opentelemetry::Value::F64(number) => json!({ "doubleValue": number }),
                other => json!({ "stringValue": other.as_str() }),
            };
            (key.as_str().to_owned(), value)
        })
        .collect();
    attributes.sort_by(|a, b| a.0.cmp(&b.0));
    let attributes: Vec<Value> = attributes
        .into_iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    json!({ "attributes": attributes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&str, &str)]) -> Result<ResourceSettings> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ResourceSettings::resolve(&move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn text(resource: &Resource, key: &str) -> Option<String> {
        resource
            .get(&opentelemetry::Key::from(key.to_owned()))
            .map(|value| value.as_str().into_owned())
    }

    // Proves the default resource names the service, the process and the run, and that
    // the instance id is a version-4 UUID that stays the same within the process.
    #[test]
    fn default_resource_names_service_process_and_run() {
        let settings = resolve(&[]).expect("no variables").with_run_id("r-1");
        let resource = settings.resource(Some(&RunAttributes::new(7, "memory")));
        assert_eq!(
            text(&resource, "service.name").as_deref(),
            Some("swarmspec")
        );
        assert_eq!(text(&resource, RUN_ID_KEY).as_deref(), Some("r-1"));
        assert_eq!(text(&resource, SEED_KEY).as_deref(), Some("7"));
        assert_eq!(text(&resource, SYSTEM_KEY).as_deref(), Some("memory"));
        assert_eq!(
            text(&resource, "process.pid"),
            Some(std::process::id().to_string())
        );
        let id = text(&resource, "service.instance.id").expect("an instance id");
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4", "{id}");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_eq!(id, instance_id());
        assert!(text(&resource, "service.version").is_some());
    }

    // Proves OTEL_SERVICE_NAME beats a service.name in OTEL_RESOURCE_ATTRIBUTES, which
    // beats the default; decoded attributes override detected ones but not the run's facts.
    #[test]
    fn variables_follow_the_specification_precedence() {
        let settings = resolve(&[(
            RESOURCE_ATTRIBUTES_VAR,
            "service.name=from-attrs, deployment.environment=night%2Cly,swarmspec.seed=1,host.name=h",
        )])
        .expect("valid");
        assert_eq!(settings.service_name, "from-attrs");
        let resource = settings.resource(Some(&RunAttributes::new(99, "file")));
        assert_eq!(
            text(&resource, "deployment.environment").as_deref(),
            Some("night,ly")
        );
        assert_eq!(text(&resource, "host.name").as_deref(), Some("h"));
        assert_eq!(text(&resource, SEED_KEY).as_deref(), Some("99"));
        let named = resolve(&[
            (RESOURCE_ATTRIBUTES_VAR, "service.name=from-attrs"),
            (SERVICE_NAME_VAR, "nightly"),
        ])
        .expect("valid");
        assert_eq!(named.service_name, "nightly");
        let empty = resolve(&[(SERVICE_NAME_VAR, ""), (RESOURCE_ATTRIBUTES_VAR, "")]);
        assert_eq!(empty.expect("empty is unset"), ResourceSettings::default());
    }

    // Proves a malformed OTEL_RESOURCE_ATTRIBUTES is an error naming the variable.
    #[test]
    fn malformed_attributes_name_the_variable() {
        for bad in ["a=1,novalue", "=x", "a=%zz"] {
            let error = resolve(&[(RESOURCE_ATTRIBUTES_VAR, bad)])
                .expect_err(bad)
                .to_string();
            assert!(error.contains(RESOURCE_ATTRIBUTES_VAR), "{error}");
        }
    }

    // Proves the JSON form is sorted and typed as the OTLP JSON mapping says.
    #[test]
    fn json_form_is_sorted_and_typed() {
        let resource = Resource::builder_empty()
            .with_attributes([KeyValue::new("b", 5_i64), KeyValue::new("a", "x")])
            .build();
        assert_eq!(
            to_otlp_json(&resource),
            json!({"attributes": [
                {"key": "a", "value": {"stringValue": "x"}},
                {"key": "b", "value": {"intValue": "5"}}
            ]})
        );
    }
}
