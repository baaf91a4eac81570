//! `[[metric]]` tables: a good one loads and a claim may rest on it; each mistake is refused
//! with the line it is on.

use crate::claims::custom::{Kind, Sample};
use crate::claims::Ledger;

const METRIC: &str = "[[metric]]
name = \"claims.conflict_percent\"
unit = \"%\"
better = \"lower\"
kind = \"ratio\"
span = \"work.claim\"
where = { \"work.outcome\" = \"conflict\" }
over = { span = \"work.claim\" }
scale = 100

[[claim]]
id = \"c\"
statement = \"s\"
metric = \"claims.conflict_percent\"
comparator = \"<\"
threshold = 5
";

fn error_of(text: &str) -> String {
    Ledger::parse(text, "claims.toml")
        .expect_err("should be refused")
        .to_string()
}

// Proves a ratio metric loads with its query and denominator, and a claim rests on it with
// its unit and minimum.
#[test]
fn custom_metric_loads_and_claims_rest_on_it() {
    let ledger = Ledger::parse(METRIC, "claims.toml").expect("valid");
    let metric = &ledger.metrics[0];
    assert_eq!(metric.line, 1);
    assert_eq!(metric.minimum, 1);
    assert!(matches!(&metric.kind, Kind::Ratio { scale, .. } if *scale == 100.0));
    assert_eq!(ledger.claims[0].metric.unit, "%");
    assert!(ledger.claims[0]
        .metric
        .minimum
        .contains("«work.claim» spans"));
    let percentile = METRIC
        .replace(
            "kind = \"ratio\"",
            "kind = \"percentile\"\nquantile = 0.99\nof = \"work.progress\"",
        )
        .replace("over = { span = \"work.claim\" }\nscale = 100\n", "");
    let ledger = Ledger::parse(&percentile, "claims.toml").expect("valid");
    assert!(matches!(
        &ledger.metrics[0].kind,
        Kind::Percentile { of: Sample::Attribute(key), .. } if key == "work.progress"
    ));
    assert_eq!(ledger.metrics[0].minimum, 100);
}

// Proves each mistake in a [[metric]] table is refused with its line and the reason.
#[test]
fn custom_metric_mistakes_name_their_line() {
    let cases = [
        (
            METRIC.replace("\"ratio\"", "\"mean\""),
            "claims.toml:5: metric claims.conflict_percent: kind = «mean»",
        ),
        (
            METRIC.replace("\"lower\"", "\"smaller\""),
            "claims.toml:4: metric claims.conflict_percent: better",
        ),
        (
            METRIC.replace("over = { span = \"work.claim\" }\n", ""),
            "claims.toml:5: metric claims.conflict_percent: a ratio needs over",
        ),
        (
            METRIC.replace("\"ratio\"", "\"count\""),
            "claims.toml:5: metric claims.conflict_percent: «over» does not apply",
        ),
        (
            METRIC
                .replace(
                    "kind = \"ratio\"",
                    "kind = \"percentile\"\nquantile = 1.5\nof = \"duration_ms\"",
                )
                .replace("over = { span = \"work.claim\" }\nscale = 100\n", ""),
            "claims.toml:6: metric claims.conflict_percent: quantile = 1.5",
        ),
        (
            METRIC.replace("\"conflict\" }", "[] }"),
            "claims.toml:7: metric claims.conflict_percent: where.work.outcome: an empty list",
        ),
        (
            METRIC.replace("scale = 100", "scale = 100\nminimum = 0"),
            "claims.toml:10: metric claims.conflict_percent: minimum",
        ),
        (
            METRIC.replace("claims.conflict_percent", "coordination.double_holds"),
            "claims.toml:1: metric «coordination.double_holds»",
        ),
        (
            METRIC.replace("scale = 100", "scale = 100\nfilter = 3"),
            "claims.toml:",
        ),
        (
            format!(
                "{}{METRIC}",
                &METRIC[..METRIC.find("[[claim]]").unwrap_or(0)]
            ),
            "defined twice",
        ),
    ];
    for (text, expected) in cases {
        let error = error_of(&text);
        assert!(
            error.contains(expected),
            "expected «{expected}» in «{error}»"
        );
    }
}
