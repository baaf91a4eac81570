//! Custom cucumber parameter types: `{duration}`, `{percent}`, `{role}`, `{environment}`,
//! and for span checks `{spans}`, `{attributes}` and `{comparison}`.
//!
//! Each is a `#[derive(Parameter)]` type whose regex cucumber matches before the step runs,
//! so "leases last 2 fortnights" is refused with the type's name instead of failing inside
//! the step. The same regexes feed the catalogue and the pre-run check (`CUSTOM`), so the
//! page a spec writer reads and the matcher that judges their text agree.

use std::str::FromStr;
use std::time::Duration;

use cucumber::Parameter;

use crate::coordination::Role;
use crate::deployment::environment::Environment;
use crate::evidence::attributes::Bound;
use crate::evidence::{Comparison, SpanFilter};

/// A length of time as people write it: `150 ms`, `30 seconds`, `2 minutes`, `1.5 s`, `200 µs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(
    name = "duration",
    regex = r"\d+(?:\.\d+)? ?(?:ns|µs|us|ms|milliseconds?|s|secs?|seconds?|min|minutes?|h|hours?)"
)]
pub struct DurationParam(pub Duration);

/// A share written in percent, `5 %` or `99.9%`: kept as a fraction (0.05, 0.999).
#[derive(Debug, Clone, Copy, PartialEq, Parameter)]
#[param(name = "percent", regex = r"\d+(?:\.\d+)? ?%")]
pub struct Percent(pub f64);

/// An agent role; the regex lists `Role::ALL` (a test keeps the two equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(name = "role", regex = "pm|architect|developer|tester|release")]
pub struct RoleParam(pub Role);

/// A deploy environment; the regex lists `Environment::ALL` (a test keeps the two equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(name = "environment", regex = "dev|staging|production")]
pub struct EnvironmentParam(pub Environment);

/// Spans by name, with an optional outcome word before it: `work.claim`, `claimed
/// work.claim`, `conflict work.claim`, `work.*` (every name under `work.`).
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(
    name = "spans",
    regex = r"(?:[a-z_]+ )?[a-z][a-z_]*(?:\.(?:[a-z_]+|\*))+"
)]
pub struct Spans(pub SpanFilter);

/// Attribute keys, `agent.id`, `agent.id and work.item_id`, `a.b, c.d and e.f`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(
    name = "attributes",
    regex = r"[a-z][a-z_]*(?:\.[a-z_]+)+(?:(?:,? and |, )[a-z][a-z_]*(?:\.[a-z_]+)+)*"
)]
pub struct Attributes(pub Vec<String>);

/// How a number compares with a bound: `below`, `under`, `at most`, `at least`, `above`,
/// `exactly`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(
    name = "comparison",
    regex = "below|under|at most|at least|above|exactly"
)]
pub struct Compare(pub String);

impl Compare {
    /// The bound this comparison sets at `value`.
    pub fn bound(&self, value: f64) -> Bound {
        Bound::from_words(&self.0, value).unwrap_or(Bound::Exactly(value))
    }

    /// The same comparison on a count.
    pub fn count(&self, n: u64) -> Comparison {
        match self.0.as_str() {
            "at most" => Comparison::AtMost(n),
            "at least" => Comparison::AtLeast(n),
            "below" | "under" => Comparison::AtMost(n.saturating_sub(1)),
            "above" => Comparison::AtLeast(n.saturating_add(1)),
            _ => Comparison::Exactly(n),
        }
    }
}

/// Every custom parameter: its name, its regex, and what it takes in words.
pub const CUSTOM: &[(&str, &str, &str)] = &[
    (
        DurationParam::NAME,
        DurationParam::REGEX,
        "a duration with a unit (150 ms, 30 seconds, 2 minutes; ns, µs, ms, s, min, h)",
    ),
    (Percent::NAME, Percent::REGEX, "a percentage (5 %, 99.9%)"),
    (
        RoleParam::NAME,
        RoleParam::REGEX,
        "a role (pm, architect, developer, tester, release)",
    ),
    (
        Spans::NAME,
        Spans::REGEX,
        "a span name, optionally after an outcome (work.claim, claimed work.claim, work.*)",
    ),
    (
        Attributes::NAME,
        Attributes::REGEX,
        "attribute keys (agent.id and work.item_id)",
    ),
    (
        Compare::NAME,
        Compare::REGEX,
        "a comparison (below, at most, at least, above, exactly)",
    ),
    (
        EnvironmentParam::NAME,
        EnvironmentParam::REGEX,
        "an environment (dev, staging, production)",
    ),
];

/// The custom parameters as the name → regex map `cucumber_expressions` expands with.
pub fn regexes() -> std::collections::HashMap<&'static str, &'static str> {
    CUSTOM
        .iter()
        .map(|(name, regex, _)| (*name, *regex))
        .collect()
}

/// Why `value` does not fit the custom parameter `kind`; `None` when it fits or `kind` is
/// not a custom parameter.
pub fn refusal(kind: &str, value: &str) -> Option<String> {
    let (_, regex, what) = CUSTOM.iter().find(|(name, _, _)| *name == kind)?;
    let whole = regex::Regex::new(&format!("^(?:{regex})$")).ok()?;
    (!whole.is_match(value)).then(|| format!("«{value}» is not {what} for {{{kind}}}"))
}

/// A parameter text its own regex admitted but that does not parse (an overflowing number).
#[derive(Debug, thiserror::Error)]
#[error("«{text}» is not {what}")]
pub struct ParameterError {
    text: String,
    what: &'static str,
}

fn refuse(text: &str, what: &'static str) -> ParameterError {
    ParameterError {
        text: text.to_owned(),
        what,
    }
}

impl FromStr for DurationParam {
    type Err = ParameterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 = number.parse().map_err(|_| refuse(text, "a duration"))?;
        let seconds_per_unit = match unit.trim() {
            "ns" => 1e-9,
            "µs" | "us" => 1e-6,
            "ms" | "millisecond" | "milliseconds" => 1e-3,
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "min" | "minute" | "minutes" => 60.0,
            "h" | "hour" | "hours" => 3600.0,
            _ => return Err(refuse(text, "a duration with a known unit")),
        };
        Duration::try_from_secs_f64(value * seconds_per_unit)
            .map(Self)
            .map_err(|_| refuse(text, "a duration that fits"))
    }
}

impl FromStr for Percent {
    type Err = ParameterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = text.trim_end_matches('%').trim();
        let value: f64 = number.parse().map_err(|_| refuse(text, "a percentage"))?;
        if !value.is_finite() {
            return Err(refuse(text, "a finite percentage"));
        }
        Ok(Self(value / 100.0))
    }
}

impl FromStr for Spans {
    type Err = ParameterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(' ') {
            Some((outcome, name)) => Ok(Self(SpanFilter::named(name).with_outcome(outcome))),
            None => Ok(Self(SpanFilter::named(text))),
        }
    }
}

impl FromStr for Attributes {
    type Err = ParameterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let keys: Vec<String> = text
            .replace(" and ", ",")
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(str::to_owned)
            .collect();
        if keys.is_empty() {
            return Err(refuse(text, "a list of attribute keys"));
        }
        Ok(Self(keys))
    }
}

impl FromStr for Compare {
    type Err = ParameterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self(text.to_owned()))
    }
}

impl FromStr for RoleParam {
    type Err = ParameterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::parse(text)
            .map(Self)
            .ok_or_else(|| refuse(text, "a role"))
    }
}

impl FromStr for EnvironmentParam {
    type Err = ParameterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Environment::parse(text)
            .map(Self)
            .map_err(|_| refuse(text, "an environment"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the units people write parse to the durations they mean, and nonsense does not.
    #[test]
    fn durations_read_as_written() {
        let cases = [
            ("150 ms", Duration::from_millis(150)),
            ("30 seconds", Duration::from_secs(30)),
            ("2 minutes", Duration::from_secs(120)),
            ("1.5 s", Duration::from_millis(1500)),
            ("200 µs", Duration::from_micros(200)),
            ("1 hour", Duration::from_secs(3600)),
        ];
        for (text, expected) in cases {
            assert_eq!(
                text.parse::<DurationParam>().ok(),
                Some(DurationParam(expected)),
                "{text}"
            );
        }
        assert!("3 fortnights".parse::<DurationParam>().is_err());
        assert!("99999999999999999999999 h"
            .parse::<DurationParam>()
            .is_err());
    }

    // Proves a percentage becomes a fraction, with or without the space.
    #[test]
    fn percentages_become_fractions() {
        assert_eq!("5 %".parse::<Percent>().ok(), Some(Percent(0.05)));
        assert_eq!("50%".parse::<Percent>().ok(), Some(Percent(0.5)));
    }

    // Proves the role and environment regexes list exactly the code's own values, so a new
    // role or environment cannot be missing from feature files' vocabulary.
    #[test]
    fn enumerations_follow_the_code() {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(RoleParam::REGEX, roles.join("|"));
        let environments: Vec<&str> = Environment::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(EnvironmentParam::REGEX, environments.join("|"));
    }

    // Proves a span selection reads its outcome word and an attribute list its keys.
    #[test]
    fn selections_and_lists_read_as_written() {
        let Spans(filter) = "claimed work.claim".parse().expect("spans");
        assert_eq!(
            filter,
            SpanFilter::named("work.claim").with_outcome("claimed")
        );
        let Attributes(keys) = "agent.id, work.stage and work.item_id"
            .parse()
            .expect("keys");
        assert_eq!(keys, ["agent.id", "work.stage", "work.item_id"]);
    }

    // Proves the pre-run check names the type and what it takes when a value does not fit.
    #[test]
    fn refusals_name_the_type() {
        let reason = refusal("duration", "3 fortnights").expect("refused");
        assert!(reason.contains("{duration}"), "{reason}");
        assert_eq!(refusal("duration", "3 s"), None);
        assert_eq!(refusal("int", "x"), None);
    }
}
