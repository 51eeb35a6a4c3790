//! One line of post-receive input: which ref moved, from which object to which.

use std::fmt;

/// A full object id in lowercase hex (40 digits for SHA-1, 64 for SHA-256).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(String);

impl ObjectId {
    /// Parses a full hex id; `None` when it is not 40 or 64 hex digits.
    pub fn parse(text: &str) -> Option<ObjectId> {
        let valid = matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| ObjectId(text.to_ascii_lowercase()))
    }

    /// The id's hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is_zero(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened to a ref.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Create { new: ObjectId },
    Update { old: ObjectId, new: ObjectId },
    Delete { old: ObjectId },
}

/// Which family of ref moved; only branches and tags make events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    Branch,
    Tag,
    Other,
}

/// One updated ref: its full name (raw bytes, as git gave it) and its change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefUpdate {
    pub name: Vec<u8>,
    pub change: Change,
}

impl RefUpdate {
    /// The object the ref pointed at before, if it existed.
    pub fn old_id(&self) -> Option<&ObjectId> {
        match &self.change {
            Change::Update { old, .. } | Change::Delete { old } => Some(old),
            Change::Create { .. } => None,
        }
    }

    /// The object the ref points at now, unless it was deleted.
    pub fn new_id(&self) -> Option<&ObjectId> {
        match &self.change {
            Change::Create { new } | Change::Update { new, .. } => Some(new),
            Change::Delete { .. } => None,
        }
    }

    /// `before` as the payload shows it: the old id or zeros of the repository's id length.
    pub fn before_hex(&self) -> String {
        self.hex_or_zeros(self.old_id())
    }

    /// `after` as the payload shows it: the new id or zeros.
    pub fn after_hex(&self) -> String {
        self.hex_or_zeros(self.new_id())
    }

    fn hex_or_zeros(&self, id: Option<&ObjectId>) -> String {
        match id {
            Some(id) => id.to_string(),
            None => {
                let len = self.old_id().or(self.new_id()).map_or(40, |id| id.0.len());
                "0".repeat(len)
            }
        }
    }

    /// The ref name as text, for payloads, logs, messages and filters; see [`ref_text`].
    pub fn name_text(&self) -> String {
        ref_text(&self.name)
    }

    /// Branch, tag or anything else.
    pub fn kind(&self) -> RefKind {
        if self.name.starts_with(b"refs/heads/") {
            RefKind::Branch
        } else if self.name.starts_with(b"refs/tags/") {
            RefKind::Tag
        } else {
            RefKind::Other
        }
    }

    /// The ref name without `refs/heads/` or `refs/tags/`.
    pub fn short_name(&self) -> String {
        short_name(&self.name_text()).to_string()
    }

    /// The line git would feed the hook for this update.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = format!("{} {} ", self.before_hex(), self.after_hex()).into_bytes();
        line.extend_from_slice(&self.name);
        line
    }
}

/// A ref name as text that keeps distinct names distinct: valid UTF-8 stays as it is, each
/// byte of an invalid sequence becomes `\xHH` (two lowercase hex digits), and a backslash
/// that is followed by `x` and two hex digits is written `\x5c`, so that the text can be
/// turned back into the exact bytes. Names that are UTF-8 and hold no such backslash
/// (all but the oddest) are unchanged.
pub fn ref_text(name: &[u8]) -> String {
    let mut text = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        let valid = chunk.valid();
        for (i, c) in valid.char_indices() {
            let rest = valid.as_bytes()[i + 1..].iter();
            let escape_like = c == '\\' && {
                let next: Vec<&u8> = rest.take(3).collect();
                matches!(next.as_slice(), [b'x', a, b] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit())
            };
            if escape_like {
                text.push_str("\\x5c");
            } else {
                text.push(c);
            }
        }
        for byte in chunk.invalid() {
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    text
}

/// A ref name without `refs/heads/` or `refs/tags/`: what branch and tag filters match.
pub fn short_name(refname: &str) -> &str {
    let short = refname
        .strip_prefix("refs/heads/")
        .or_else(|| refname.strip_prefix("refs/tags/"));
    short.unwrap_or(refname)
}

/// Why a stdin line was not understood.
#[derive(Debug, PartialEq, Eq)]
pub enum LineError {
    FieldCount(usize),
    BadId(String),
    MixedLengths,
    NothingChanged,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::FieldCount(n) => {
                write!(f, "expected 'OLD NEW REFNAME', found {n} field(s)")
            }
            LineError::BadId(id) => {
                let shown: String = id.chars().take(70).collect();
                write!(f, "'{shown}' is not a full object id (40 or 64 hex digits)")
            }
            LineError::MixedLengths => f.write_str("old and new ids have different lengths"),
            LineError::NothingChanged => f.write_str("old and new ids are both zero"),
        }
    }
}

/// Parses one `OLD NEW REFNAME` line (without its newline). The ref name is the rest of
/// the line after the second space, so it may contain spaces or any other byte.
pub fn parse_line(line: &[u8]) -> Result<RefUpdate, LineError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut fields = line.splitn(3, |&b| b == b' ');
    let (old, new, name) = match (fields.next(), fields.next(), fields.next()) {
        (Some(o), Some(n), Some(r)) if !r.is_empty() && !o.is_empty() && !n.is_empty() => (o, n, r),
        _ => {
            let count = line.split(|&b| b == b' ').filter(|f| !f.is_empty()).count();
            return Err(LineError::FieldCount(count));
        }
    };
    let parse = |raw: &[u8]| {
        let text = String::from_utf8_lossy(raw);
        ObjectId::parse(&text).ok_or_else(|| LineError::BadId(text.into_owned()))
    };
    let (old, new) = (parse(old)?, parse(new)?);
    if old.0.len() != new.0.len() {
        return Err(LineError::MixedLengths);
    }
    let change = match (old.is_zero(), new.is_zero()) {
        (true, true) => return Err(LineError::NothingChanged),
        (true, false) => Change::Create { new },
        (false, true) => Change::Delete { old },
        (false, false) => Change::Update { old, new },
    };
    Ok(RefUpdate {
        name: name.to_vec(),
        change,
    })
}

/// Parses all of stdin: the good updates, and for each bad line its number, text and error.
pub fn parse_input(input: &[u8]) -> (Vec<RefUpdate>, Vec<(usize, String, LineError)>) {
    let mut updates = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in input.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        match parse_line(line) {
            Ok(update) => updates.push(update),
            Err(e) => errors.push((index + 1, String::from_utf8_lossy(line).into_owned(), e)),
        }
    }
    (updates, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn a_line_with_two_real_ids_is_an_update() {
        let u = parse_line(format!("{A} {B} refs/heads/main").as_bytes()).unwrap();
        assert_eq!(
            u.change,
            Change::Update {
                old: ObjectId(A.into()),
                new: ObjectId(B.into())
            }
        );
        assert_eq!(u.kind(), RefKind::Branch);
        assert_eq!(u.short_name(), "main");
    }

    #[test]
    fn zero_ids_make_creates_and_deletes_with_zeros_shown() {
        let c = parse_line(format!("{Z} {B} refs/tags/v1").as_bytes()).unwrap();
        assert_eq!(
            c.change,
            Change::Create {
                new: ObjectId(B.into())
            }
        );
        assert_eq!(c.before_hex(), Z);
        assert_eq!(c.kind(), RefKind::Tag);
        let d = parse_line(format!("{A} {Z} refs/heads/x").as_bytes()).unwrap();
        assert_eq!(
            d.change,
            Change::Delete {
                old: ObjectId(A.into())
            }
        );
        assert_eq!(d.after_hex(), Z);
    }

    #[test]
    fn sha256_ids_are_accepted_and_zeros_keep_their_length() {
        let z = "0".repeat(64);
        let n = "ab".repeat(32);
        let u = parse_line(format!("{z} {n} refs/heads/main").as_bytes()).unwrap();
        assert_eq!(u.before_hex(), z);
    }

    #[test]
    fn ref_names_keep_spaces_and_non_utf8_bytes() {
        let mut line = format!("{A} {B} refs/heads/a b ").into_bytes();
        line.push(0xff);
        let u = parse_line(&line).unwrap();
        assert_eq!(u.name, b"refs/heads/a b \xff");
        assert_eq!(u.name_text(), "refs/heads/a b \\xff");
    }

    /// Turns [`ref_text`] back into bytes: the proof that it loses nothing.
    fn ref_bytes(text: &str) -> Vec<u8> {
        let (b, mut out, mut i) = (text.as_bytes(), Vec::new(), 0);
        while i < b.len() {
            let hex = b
                .get(i + 2..i + 4)
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
            match (b[i], b.get(i + 1), hex) {
                (b'\\', Some(b'x'), Some(byte)) => {
                    out.push(byte);
                    i += 4;
                }
                (byte, _, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        out
    }

    #[test]
    fn ref_text_keeps_distinct_names_distinct_and_is_reversible() {
        assert_eq!(ref_text(b"refs/heads/a\xff"), "refs/heads/a\\xff");
        assert_eq!(ref_text(b"refs/heads/a\xfe"), "refs/heads/a\\xfe");
        assert_eq!(ref_text(b"refs/heads/a\\xff"), "refs/heads/a\\x5cxff");
        assert_eq!(
            ref_text("refs/heads/caf\u{e9}\\n\\x".as_bytes()),
            "refs/heads/caf\u{e9}\\n\\x"
        );
        assert_eq!(ref_text(b"refs/tags/\xe2\x82"), "refs/tags/\\xe2\\x82");
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(12);
        let mut seen = std::collections::HashMap::new();
        for _ in 0..5000 {
            let len = rand::Rng::gen_range(&mut rng, 0..8);
            let name: Vec<u8> = (0..len)
                .map(|_| {
                    *[b'\\', b'x', b'5', b'c', b'f', b'a', 0xff, 0xc3, 0xa9, 0xe2]
                        .get(rand::Rng::gen_range(&mut rng, 0..10))
                        .unwrap()
                })
                .collect();
            let text = ref_text(&name);
            assert_eq!(ref_bytes(&text), name, "{text}");
            if let Some(other) = seen.insert(text.clone(), name.clone()) {
                assert_eq!(other, name, "{text}");
            }
        }
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        assert_eq!(parse_line(b"abc"), Err(LineError::FieldCount(1)));
        assert_eq!(parse_line(format!("{A} {B}").as_bytes()), Err(LineError::FieldCount(2)));
        assert!(matches!(
            parse_line(format!("{A} xyz refs/heads/m").as_bytes()),
            Err(LineError::BadId(_))
        ));
        assert_eq!(
            parse_line(format!("{Z} {Z} refs/heads/m").as_bytes()),
            Err(LineError::NothingChanged)
        );
        let long = "c".repeat(64);
        assert_eq!(
            parse_line(format!("{A} {long} refs/heads/m").as_bytes()),
            Err(LineError::MixedLengths)
        );
    }

    #[test]
    fn input_parsing_keeps_good_lines_and_numbers_bad_ones() {
        let input = format!("{A} {B} refs/heads/a\n\nnonsense\n{Z} {B} refs/tags/t\n");
        let (good, bad) = parse_input(input.as_bytes());
        assert_eq!(good.len(), 2);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 3);
    }
}
