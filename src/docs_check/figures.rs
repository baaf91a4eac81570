//! Figures in prose, compared with the claim they cite. "More than 500 000 ops/s [claim: X]"
//! is implied by X only when X's own threshold is at least as strong: a claim of "> 1000
//! ops/s" does not back prose that says half a million. Figures in the units of a claim's
//! conditions ("with 120 agents") must satisfy the condition; any other unit cannot be
//! compared and is reported as unchecked rather than passed over.

use serde::Serialize;

/// Which way a figure in prose bounds the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Bound {
    /// "more than", "over", "above", ">".
    Above,
    /// "at least", "≥", ">=", "or more".
    AtLeast,
    /// "under", "below", "less than", "<".
    Below,
    /// "at most", "within", "≤", "<=".
    AtMost,
    /// A bare number: the prose states this very value.
    Exactly,
}

/// One number with its unit and the words bounding it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// The bound the prose puts on it.
    pub bound: Bound,
    /// The number.
    pub value: f64,
    /// Its unit, lower-cased.
    pub unit: String,
}

/// How a figure compares with the claim it cites.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Judgement {
    /// The claim (or its conditions) implies the figure.
    Implied,
    /// The prose says more than the claim does, with why.
    Overstates(String),
    /// The unit is not one the claim speaks in: not compared.
    Unchecked(String),
}

const PHRASES: &[(&str, Bound)] = &[
    ("more than", Bound::Above),
    ("greater than", Bound::Above),
    ("over", Bound::Above),
    ("above", Bound::Above),
    ("exceeds", Bound::Above),
    (">=", Bound::AtLeast),
    ("≥", Bound::AtLeast),
    (">", Bound::Above),
    ("at least", Bound::AtLeast),
    ("less than", Bound::Below),
    ("fewer than", Bound::Below),
    ("under", Bound::Below),
    ("below", Bound::Below),
    ("<=", Bound::AtMost),
    ("≤", Bound::AtMost),
    ("<", Bound::Below),
    ("at most", Bound::AtMost),
    ("up to", Bound::AtMost),
    ("within", Bound::AtMost),
];

/// Units a figure may carry; longer spellings first so `ops/s` wins over `ops`.
const UNITS: &[&str] = &[
    "ops/s",
    "op/s",
    "events/s",
    "spans/s",
    "requests",
    "holds",
    "ms",
    "µs",
    "us",
    "ns",
    "seconds",
    "s",
    "%",
    "percent",
    "mb",
    "gb",
    "kb",
    "mib",
    "gib",
    "bytes",
    "agents",
    "processes",
    "cores",
    "minutes",
    "items",
    "ops",
    "x",
    "×",
];

fn bound_before(text: &str) -> Bound {
    let text = text.trim_end().to_lowercase();
    PHRASES
        .iter()
        .find(|(phrase, _)| text.ends_with(phrase))
        .map_or(Bound::Exactly, |(_, bound)| *bound)
}

fn bound_after(text: &str, bound: Bound) -> Bound {
    let text = text.trim_start().to_lowercase();
    match bound {
        Bound::Exactly if text.starts_with("or more") => Bound::AtLeast,
        Bound::Exactly if text.starts_with("or fewer") || text.starts_with("or less") => {
            Bound::AtMost
        }
        other => other,
    }
}

/// Every number-with-unit in `text` (code already removed), with the words bounding it.
pub fn figures(text: &str) -> Vec<Figure> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let glued_to_word = i > 0 && chars[i - 1].1.is_alphanumeric();
        if !c.is_ascii_digit() || glued_to_word {
            i += 1;
            continue;
        }
        // Digits, decimal points, and thousands groups separated by one (thin) space.
        let mut digits = String::new();
        let mut j = i;
        while j < chars.len() {
            let ch = chars[j].1;
            let group_follows = matches!(ch, ' ' | '\u{202f}' | '\u{a0}')
                && chars
                    .get(j + 1..j + 4)
                    .is_some_and(|g| g.iter().all(|(_, d)| d.is_ascii_digit()))
                && chars.get(j + 4).is_none_or(|(_, d)| !d.is_ascii_digit());
            if ch.is_ascii_digit()
                || (ch == '.' && chars.get(j + 1).is_some_and(|(_, d)| d.is_ascii_digit()))
            {
                digits.push(ch);
            } else if !group_follows {
                break;
            }
            j += 1;
        }
        let end = chars.get(j).map_or(text.len(), |(at, _)| *at);
        let rest_lower = text[end..].trim_start().to_lowercase();
        // "100 or more agents": the bound words sit between the number and its unit.
        let (bound_words, rest_lower) = ["or more", "or fewer", "or less"]
            .iter()
            .find_map(|w| {
                rest_lower
                    .strip_prefix(w)
                    .map(|after| (*w, after.trim_start().to_owned()))
            })
            .unwrap_or(("", rest_lower));
        let unit = UNITS.iter().find(|unit| {
            rest_lower.starts_with(*unit)
                && rest_lower[unit.len()..]
                    .chars()
                    .next()
                    .is_none_or(|next| !next.is_alphanumeric())
        });
        // "MB per 100 agents": a number after "per" is the figure's denominator, not a
        // figure of its own.
        let denominator = text[..start].trim_end().to_lowercase().ends_with("per");
        if let (Some(unit), Ok(value), false) = (unit, digits.parse::<f64>(), denominator) {
            let after = format!("{bound_words} {}", &rest_lower[unit.len()..]);
            let bound = bound_after(&after, bound_before(&text[..start]));
            found.push(Figure {
                bound,
                value,
                unit: (*unit).to_owned(),
            });
        }
        i = j.max(i + 1);
    }
    found
}

fn same_unit(a: &str, b: &str) -> bool {
    let norm = |u: &str| match u.to_lowercase().as_str() {
        "percent" => "%".to_owned(),
        "seconds" => "s".to_owned(),
        "µs" => "us".to_owned(),
        other => other.to_owned(),
    };
    norm(a) == norm(b)
}

/// A comparison read back from text like `> 1000` or `agents >= 100`.
fn relation(text: &str) -> Option<(&str, f64)> {
    let text = text.trim();
    for symbol in [">=", "<=", "==", ">", "<"] {
        if let Some(rest) = text.strip_prefix(symbol) {
            return rest.trim().parse().ok().map(|n| (symbol, n));
        }
    }
    None
}

/// Whether a claim `symbol threshold` implies the figure.
fn implied_by(figure: &Figure, symbol: &str, threshold: f64) -> bool {
    let x = figure.value;
    match (figure.bound, symbol) {
        (Bound::Above, ">") | (Bound::AtLeast, ">") | (Bound::AtLeast, ">=") => threshold >= x,
        (Bound::Above, ">=") => threshold > x,
        (Bound::Below, "<") | (Bound::AtMost, "<") | (Bound::AtMost, "<=") => threshold <= x,
        (Bound::Below, "<=") => threshold < x,
        (Bound::Exactly, "==") => threshold == x,
        (Bound::AtMost, "==") => threshold <= x,
        (Bound::AtLeast, "==") => threshold >= x,
        _ => false,
    }
}

/// How `figure` compares with a claim whose expectation reads `expected` (`> 1000`) in
/// `unit`, under `conditions` (`agents >= 100`).
pub fn judge(figure: &Figure, expected: &str, unit: &str, conditions: &[String]) -> Judgement {
    if same_unit(&figure.unit, unit) {
        let Some((symbol, threshold)) = relation(expected) else {
            return Judgement::Unchecked(format!(
                "the claim's expectation «{expected}» is not a comparison"
            ));
        };
        return if implied_by(figure, symbol, threshold) {
            Judgement::Implied
        } else {
            Judgement::Overstates(format!(
                "the prose says {} {} {}, the claim only {expected} {unit}",
                bound_words(figure.bound),
                figure.value,
                figure.unit
            ))
        };
    }
    let condition = conditions.iter().find_map(|c| {
        let (key, rest) = c.split_once(' ')?;
        same_unit(key, &figure.unit).then_some((key, rest))
    });
    match condition {
        Some((key, rest)) => match relation(rest) {
            Some((symbol, bound)) => {
                let ok = match symbol {
                    ">=" => figure.value >= bound,
                    ">" => figure.value > bound,
                    "<=" => figure.value <= bound,
                    "<" => figure.value < bound,
                    _ => figure.value == bound,
                };
                if ok {
                    Judgement::Implied
                } else {
                    Judgement::Overstates(format!(
                        "the prose speaks of {} {}, the claim's evidence needs {key} {rest}",
                        figure.value, figure.unit
                    ))
                }
            }
            None => Judgement::Unchecked(format!("condition «{key} {rest}» is not numeric")),
        },
        None => Judgement::Unchecked(format!(
            "«{} {}»: the claim speaks in {unit} and states no condition on {}",
            figure.value, figure.unit, figure.unit
        )),
    }
}

fn bound_words(bound: Bound) -> &'static str {
    match bound {
        Bound::Above => "more than",
        Bound::AtLeast => "at least",
        Bound::Below => "under",
        Bound::AtMost => "at most",
        Bound::Exactly => "exactly",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Figure {
        let found = figures(text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        found[0].clone()
    }

    // Proves bounds, grouped thousands and units are read as a reader means them.
    #[test]
    fn figures_are_read_with_their_bounds() {
        let f = one("More than 500 000 ops/s from the engine");
        assert_eq!(
            (f.bound, f.value, f.unit.as_str()),
            (Bound::Above, 500_000.0, "ops/s")
        );
        assert_eq!(one("p99 under 100 ms").bound, Bound::Below);
        assert_eq!(one("with 100 or more agents").bound, Bound::AtLeast);
        assert_eq!(one("At least 99.9 % of agents").value, 99.9);
        assert!(figures("see issue 4 and step 2").is_empty());
        assert!(figures("v2 and h264 codecs").is_empty());
        assert_eq!(one("under 1 MB per 100 agents").unit, "mb");
    }

    // Proves a figure stronger than the cited claim is an overstatement, and a weaker or
    // equal one is implied.
    #[test]
    fn overstatement_is_caught() {
        let big = one("More than 999999999999 ops/s");
        assert!(matches!(
            judge(&big, "> 1000", "ops/s", &[]),
            Judgement::Overstates(_)
        ));
        let small = one("More than 1000 ops/s");
        assert_eq!(judge(&small, "> 1000", "ops/s", &[]), Judgement::Implied);
        let latency = one("p99 under 50 ms");
        assert!(matches!(
            judge(&latency, "< 100", "ms", &[]),
            Judgement::Overstates(_)
        ));
        assert_eq!(
            judge(&one("under 100 ms"), "< 100", "ms", &[]),
            Judgement::Implied
        );
    }

    // Proves figures in a condition's unit are checked against the condition, and other
    // units are reported as unchecked.
    #[test]
    fn conditions_and_unknown_units() {
        let conditions = vec!["agents >= 100".to_owned()];
        assert_eq!(
            judge(&one("with 120 agents"), "== 0", "holds", &conditions),
            Judgement::Implied
        );
        assert!(matches!(
            judge(&one("with 4 agents"), "== 0", "holds", &conditions),
            Judgement::Overstates(_)
        ));
        assert!(matches!(
            judge(&one("on 2 cores"), "== 0", "holds", &conditions),
            Judgement::Unchecked(_)
        ));
    }
}
