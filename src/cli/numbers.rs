//! Whole-number flags: a mistake said in words ("too large: at most …"), with an absurdly
//! long value shortened, never a parser's debug form.
//!
//! The parsers are `clap::builder::TypedValueParser`s rather than plain functions because
//! clap repeats a rejected value in full in its own message ("invalid value '…'"), which for
//! a 5 000-digit value is a screenful: a raw error carries only our shortened one.

use std::num::IntErrorKind;

/// Characters of a bad value shown before it is cut short.
const SHOWN_CHARS_MAX: usize = 24;

/// `text` as shown in a message: whole if short, else its start and its length.
fn shown(text: &str) -> String {
    let length = text.chars().count();
    if length <= SHOWN_CHARS_MAX {
        return text.to_owned();
    }
    let start: String = text.chars().take(SHOWN_CHARS_MAX).collect();
    format!("{start}… ({length} characters)")
}

/// `text` as a `u64`, or why not.
pub fn whole_u64(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|error| match error.kind() {
            IntErrorKind::PosOverflow => {
                format!("'{}' is too large: at most {}", shown(text), u64::MAX)
            }
            IntErrorKind::Empty => "an empty value is not a whole number".to_owned(),
            _ => format!("'{}' is not a whole number", shown(text)),
        })
}

/// `text` as a `usize`, or why not.
pub fn whole_usize(text: &str) -> Result<usize, String> {
    let value = whole_u64(text)?;
    usize::try_from(value)
        .map_err(|_| format!("'{}' is too large: at most {}", shown(text), usize::MAX))
}

/// `text` as a `usize` of at least 1, or why not.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match whole_usize(text)? {
        0 => Err("must be at least 1".into()),
        value => Ok(value),
    }
}

/// Which whole numbers a flag takes.
#[derive(Debug, Clone, Copy)]
pub enum Whole {
    /// Any `u64`.
    U64,
    /// Any `usize`.
    Usize,
    /// A `usize` of at least 1.
    AtLeastOne,
}

impl Whole {
    fn check(self, text: &str, arg: Option<&clap::Arg>) -> Result<u64, clap::Error> {
        let parsed = match self {
            Self::U64 => whole_u64(text),
            Self::Usize => whole_usize(text).map(|n| n as u64),
            Self::AtLeastOne => at_least_one(text).map(|n| n as u64),
        };
        parsed.map_err(|problem| {
            let flag = arg.and_then(clap::Arg::get_long).unwrap_or("value");
            let message = format!("invalid value for --{flag}: {problem}\n");
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, message)
        })
    }
}

/// A `u64` flag.
#[derive(Debug, Clone, Copy)]
pub struct U64(pub Whole);

impl clap::builder::TypedValueParser for U64 {
    type Value = u64;

    fn parse_ref(
        &self,
        _command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<u64, clap::Error> {
        self.0.check(&value.to_string_lossy(), arg)
    }
}

/// A `usize` flag.
#[derive(Debug, Clone, Copy)]
pub struct Usize(pub Whole);

impl clap::builder::TypedValueParser for Usize {
    type Value = usize;

    fn parse_ref(
        &self,
        _command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<usize, clap::Error> {
        let value = self.0.check(&value.to_string_lossy(), arg)?;
        // `check` already refused anything past usize::MAX for `Usize` and `AtLeastOne`.
        usize::try_from(value)
            .map_err(|_| clap::Error::raw(clap::error::ErrorKind::ValueValidation, "too large\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves overflow, garbage and zero each get their own words, and long values are cut.
    #[test]
    fn mistakes_are_said_in_words() {
        let huge = "9".repeat(5_000);
        let error = whole_u64(&huge).unwrap_err();
        assert!(
            error.contains("is too large: at most 18446744073709551615"),
            "{error}"
        );
        assert!(
            error.contains("(5000 characters)") && error.len() < 120,
            "{error}"
        );
        assert_eq!(
            whole_u64("many").unwrap_err(),
            "'many' is not a whole number"
        );
        assert_eq!(at_least_one("0").unwrap_err(), "must be at least 1");
        assert_eq!(at_least_one("12"), Ok(12));
    }
}
