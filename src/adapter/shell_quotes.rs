//! Finding placeholders a shell-string template puts inside quotes.
//!
//! The adapter shell-quotes every placeholder's value itself (`'it'\''s'`). Written inside
//! single quotes, `'{work_item_id}'`, that quoting is undone: the value's own quotes close
//! the template's, and an id holding `'; rm -rf ~; '` runs as shell code. Inside double
//! quotes the value keeps the adapter's quote marks as part of the word (`"'item-1'"`), so the
//! system sees a different id. Both are refused when the config is loaded.

/// Where the lexer is in the line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    Bare,
    Single,
    Double,
}

/// The first placeholder written inside quotes in `line`, explained, or `None`.
pub fn quoted_placeholder(line: &str) -> Option<String> {
    let mut quoting = Quoting::Bare;
    let mut chars = line.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match (quoting, c) {
            (Quoting::Bare, '\\') | (Quoting::Double, '\\') => {
                chars.next();
            }
            (Quoting::Bare, '\'') => quoting = Quoting::Single,
            (Quoting::Single, '\'') => quoting = Quoting::Bare,
            (Quoting::Bare, '"') => quoting = Quoting::Double,
            (Quoting::Double, '"') => quoting = Quoting::Bare,
            (Quoting::Single | Quoting::Double, '{') => {
                let rest = &line[at + 1..];
                let name = rest.find('}').map(|close| &rest[..close])?;
                let is_placeholder =
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                if is_placeholder {
                    let (quotes, why) = if quoting == Quoting::Single {
                        (
                            "single",
                            "that undoes the quoting swarmspec gives every value, so a value holding ' would run as shell code",
                        )
                    } else {
                        (
                            "double",
                            "the value would keep the quote marks swarmspec wraps it in",
                        )
                    };
                    return Some(format!(
                        "{{{name}}} is inside {quotes} quotes (at character {}): {why}; write it bare, swarmspec quotes it",
                        line[..at].chars().count() + 1
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::quoted_placeholder;

    // Proves placeholders inside single or double quotes are found, bare ones and JSON
    // braces are not, and escaped quotes do not open a quoted stretch.
    #[test]
    fn quoted_placeholders_are_found() {
        assert!(quoted_placeholder("tool claim '{work_item_id}'")
            .is_some_and(|p| p.contains("single quotes") && p.contains("{work_item_id}")));
        assert!(quoted_placeholder("tool \"{agent_id}\"").is_some_and(|p| p.contains("double")));
        assert_eq!(
            quoted_placeholder("tool claim {agent_id} {work_item_id}"),
            None
        );
        assert_eq!(quoted_placeholder("echo '{\"a\": 1}' {agent_id}"), None);
        assert_eq!(quoted_placeholder(r"echo \' {agent_id} \'"), None);
        assert!(quoted_placeholder("a 'b' \"c\" 'x{progress}y'").is_some());
    }
}
