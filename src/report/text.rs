//! Text from the logs, made safe to show: on a terminal (no escape sequences, no cursor
//! movement, no bidirectional overrides) and in a spreadsheet (no formulas).

use std::borrow::Cow;

/// Text a terminal shows as it is: control characters (escape, carriage return, line breaks,
/// backspace…) and bidirectional overrides (U+202A–U+202E, U+2066–U+2069) become visible
/// placeholders, so a crafted display name cannot move the cursor, recolour the terminal,
/// change its title or reverse what follows.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\n' => '⏎',
                '\t' => ' ',
                '\u{1b}' => '␛',
                c if is_unsafe(c) => '\u{fffd}',
                c => c,
            })
            .collect(),
    )
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Prefixes a cell that starts like a spreadsheet formula (`=`, `+`, `-`, `@`, tab, CR) with
/// a quote, so that opening an export of attacker-controlled log text runs nothing. Numbers
/// (`-3`, `+1.5`) are left as they are: they are not formulas.
pub fn neutralize_formula(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        Some('+' | '-') if cell.parse::<f64>().is_err() => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized_and_numbers_and_plain_text_are_not() {
        assert_eq!(
            neutralize_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralize_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            neutralize_formula("-2+3+cmd|' /C calc'!A0"),
            "'-2+3+cmd|' /C calc'!A0"
        );
        assert_eq!(neutralize_formula("-3"), "-3");
        assert_eq!(neutralize_formula("+1.5"), "+1.5");
        assert_eq!(neutralize_formula("admin@contoso.com"), "admin@contoso.com");
    }

    #[test]
    fn escape_sequences_and_overrides_cannot_reach_the_terminal() {
        let hostile = "\u{1b}]0;pwned\u{7}Eve\r\u{1b}[2KAdmin\u{202e}gnp.exe";
        let shown = printable(hostile);
        assert!(!shown.chars().any(is_unsafe), "{shown:?}");
        assert!(shown.contains("Eve") && shown.contains("Admin"));
        assert_eq!(printable("plain"), "plain");
    }
}
