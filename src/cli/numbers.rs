//! Whole-number flags: a mistake said in words ("too large: at most …"), with an absurdly
//! long value shortened, never a parser's debug form.

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
