//! Branch and tag filters: `*` matches within one path segment, `**` across them, `?`
//! one character.

/// True when `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p {
            [] => n.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=n.len()).any(|i| go(rest, &n[i..])),
            [b'*', rest @ ..] => (0..=n.len())
                .take_while(|&i| i == 0 || n[i - 1] != b'/')
                .any(|i| go(rest, &n[i..])),
            [b'?', rest @ ..] => !n.is_empty() && n[0] != b'/' && go(rest, &n[1..]),
            [c, rest @ ..] => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// True when the list is empty (no filter) or one pattern matches.
pub fn any(patterns: &[String], name: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| matches(p, name))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_stay_within_a_segment_unless_doubled() {
        assert!(matches("release/*", "release/1.0"));
        assert!(!matches("release/*", "release/1.0/hotfix"));
        assert!(matches("release/**", "release/1.0/hotfix"));
        assert!(matches("v*", "v1.2.3"));
        assert!(!matches("v*", "x1"));
        assert!(matches("main", "main"));
        assert!(!matches("main", "mainline"));
        assert!(matches("v?.0", "v1.0"));
    }
}
