//! Outside text (a link's values, file and archive entry names, fields of uploaded files) made
//! safe to show in a notice or a message: control characters and the Unicode bidirectional
//! controls are dropped, so `?beta=abc%E2%80%AEdef` cannot reverse the rest of a notice
//! (Trojan-Source style, CVE-2021-42574) and a name cannot break a message across lines.

/// Whether `c` changes the direction of the text around it: the embeddings and overrides
/// (U+202A–U+202E), the isolates (U+2066–U+2069) and the marks (U+200E, U+200F, U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `s` without control characters (C0, DEL, C1) and bidirectional controls.
pub fn neutralise(s: &str) -> String {
    s.chars().filter(|&c| !c.is_control() && !is_bidi_control(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_overrides_isolates_marks_and_controls() {
        assert_eq!(neutralise("abc\u{202E}def"), "abcdef");
        assert_eq!(neutralise("a\u{2066}b\u{2069}c\u{200F}d\u{061C}e"), "abcde");
        assert_eq!(neutralise("line\nbreak\t\u{7}\u{85}"), "linebreak");
        // Everything else is kept, right-to-left letters included.
        assert_eq!(neutralise("β = 10 · שלום · 数字"), "β = 10 · שלום · 数字");
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert!(is_bidi_control(c), "{c:?}");
        }
        assert!(!is_bidi_control('\u{2065}') && !is_bidi_control('\u{2070}') && !is_bidi_control('a'));
    }
}
