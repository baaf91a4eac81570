//! Why a step text matches no step definition, in words a person can act on.
//!
//! cucumber only says "a step has no definition". Three causes cover most mistakes, and
//! each is told apart here: the text belongs to a step of another keyword (a `Given` step
//! written under `Then`), a parameter holds what its type refuses (`{int}` given `abc`), or
//! no step is like it at all (then the closest known steps are suggested).

use regex::{Regex, RegexSet};

use super::catalogue::{self, StepEntry};

/// Suggestions listed for an unknown step.
const SUGGESTIONS_MAX: usize = 3;

/// The catalogue made ready for matching many step texts: one `RegexSet` per lookup, and
/// for each cucumber expression with typed parameters, a relaxed form that accepts any
/// text in each parameter.
#[derive(Debug)]
pub struct Matcher<'a> {
    entries: &'a [StepEntry],
    set: RegexSet,
    relaxed: Vec<Option<Relaxed>>,
}

/// An expression with every `{type}` replaced by `{}`, and the types in order.
#[derive(Debug)]
struct Relaxed {
    regex: Regex,
    types: Vec<String>,
}

impl Relaxed {
    fn of(entry: &StepEntry) -> Option<Self> {
        if !entry.pattern.contains('{') || entry.pattern.starts_with('^') {
            return None;
        }
        let mut types = Vec::new();
        let mut expression = String::new();
        let mut rest = entry.pattern.as_str();
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}')? + open;
            expression.push_str(&rest[..open]);
            expression.push_str("{}");
            types.push(rest[open + 1..close].to_owned());
            rest = &rest[close + 1..];
        }
        expression.push_str(rest);
        let regex = cucumber_expressions::Expression::regex(&expression).ok()?;
        Some(Self { regex, types })
    }
}

/// Why `value` does not fit a parameter of type `kind`, if it does not.
fn refusal(kind: &str, value: &str) -> Option<String> {
    let fits = match kind {
        "int" => {
            let digits = value.strip_prefix('-').unwrap_or(value);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        }
        "float" => value.parse::<f64>().is_ok(),
        "word" => !value.is_empty() && !value.contains(char::is_whitespace),
        "string" => {
            value.len() >= 2
                && ((value.starts_with('"') && value.ends_with('"'))
                    || (value.starts_with('\'') && value.ends_with('\'')))
        }
        _ => true,
    };
    let what = match kind {
        "int" => "a whole number",
        "float" => "a number",
        "word" => "one word",
        "string" => "a quoted text",
        _ => return super::parameters::refusal(kind, value),
    };
    (!fits).then(|| format!("«{value}» is not {what} for {{{kind}}}"))
}

impl<'a> Matcher<'a> {
    /// A matcher over `entries`.
    pub fn new(entries: &'a [StepEntry]) -> Self {
        // Each entry's regex compiled on its own; a set of the same patterns cannot fail
        // to build unless the set is too big, and then single matching is the fallback.
        let set = RegexSet::new(entries.iter().map(|e| e.regex.as_str()))
            .unwrap_or_else(|_| RegexSet::empty());
        Self {
            entries,
            set,
            relaxed: entries.iter().map(Relaxed::of).collect(),
        }
    }

    /// Entries whose pattern matches `text`, of any keyword.
    fn matching(&self, text: &str) -> Vec<&'a StepEntry> {
        if self.set.len() == self.entries.len() {
            return self
                .set
                .matches(text)
                .into_iter()
                .map(|i| &self.entries[i])
                .collect();
        }
        self.entries
            .iter()
            .filter(|e| e.regex.is_match(text))
            .collect()
    }

    /// The `keyword` steps whose pattern matches `text`.
    pub fn definitions(&self, keyword: &str, text: &str) -> Vec<&'a StepEntry> {
        let mut found = self.matching(text);
        found.retain(|e| e.keyword == keyword);
        found
    }

    /// `None` when a `keyword` step (`Given`, `When`, `Then`) matches `text`; else why not.
    pub fn diagnose(&self, keyword: &str, text: &str) -> Option<String> {
        let matching = self.matching(text);
        if matching.iter().any(|e| e.keyword == keyword) {
            return None;
        }
        if let Some(other) = matching.first() {
            return Some(format!(
                "«{text}» is a {} step, but here it counts as a {keyword} step (an And or But \
                 takes the keyword of the step before it): write it as «{} {text}», before \
                 the {keyword} steps",
                other.keyword, other.keyword
            ));
        }
        if let Some(reason) = self.parameter_refusal(keyword, text) {
            return Some(reason);
        }
        let suggestions: Vec<String> = catalogue::closest(self.entries, text, SUGGESTIONS_MAX)
            .into_iter()
            .map(|e| {
                format!(
                    "«{} {}»",
                    e.keyword,
                    e.example.as_deref().unwrap_or(&e.pattern)
                )
            })
            .collect();
        Some(format!(
            "unknown step «{text}»; closest known steps: {}",
            suggestions.join(", ")
        ))
    }

    /// When a step would match but for the text in one of its typed parameters, says which
    /// text, which type and which step (a step of the same keyword first).
    fn parameter_refusal(&self, keyword: &str, text: &str) -> Option<String> {
        let mut candidates: Vec<(usize, &Relaxed)> = self
            .relaxed
            .iter()
            .enumerate()
            .filter_map(|(i, relaxed)| relaxed.as_ref().map(|r| (i, r)))
            .collect();
        candidates.sort_by_key(|(i, _)| self.entries[*i].keyword != keyword);
        for (i, relaxed) in candidates {
            let Some(captures) = relaxed.regex.captures(text) else {
                continue;
            };
            let values = captures.iter().skip(1).flatten().map(|m| m.as_str());
            for (kind, value) in relaxed.types.iter().zip(values) {
                if let Some(reason) = refusal(kind, value) {
                    let entry = &self.entries[i];
                    return Some(format!("{reason} in «{} {}»", entry.keyword, entry.pattern));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<StepEntry> {
        catalogue::catalogue()
    }

    // Proves a matching step of the right keyword is fine, a Given written as Then is named
    // as such, and `{int}` given letters says so.
    #[test]
    fn tells_the_causes_apart() {
        let entries = entries();
        let matcher = Matcher::new(&entries);
        assert_eq!(matcher.diagnose("Given", "100 work items"), None);
        let as_then = matcher
            .diagnose("Then", "100 work items")
            .expect("wrong keyword");
        assert!(as_then.contains("is a Given step"), "{as_then}");
        let letters = matcher
            .diagnose("Given", "abc work items")
            .expect("bad int");
        assert!(
            letters.starts_with("«abc» is not a whole number for {int}"),
            "{letters}"
        );
        let unknown = matcher
            .diagnose("Then", "the moon is made of cheese")
            .expect("unknown");
        assert!(unknown.starts_with("unknown step"), "{unknown}");
    }
}
