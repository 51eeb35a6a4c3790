//! Ids: random ones for new deliveries, and ones derived from what they name, which
//! come out the same each time the same thing is named again.

use sha2::{Digest, Sha256};

/// A new random delivery id.
pub fn fresh_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A delivery id that depends only on `parts`: building the same event for the same hook
/// again gives the same id, so a run that dies half-way through cannot give its events
/// new ids.
pub fn derived_id(parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    let bytes: [u8; 16] = hash.finalize()[..16].try_into().expect("16 of 32 bytes");
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_depend_on_every_part() {
        let id = derived_id(&[b"push-1", b"3", b"ci"]);
        assert_eq!(id, derived_id(&[b"push-1", b"3", b"ci"]));
        assert_ne!(id, derived_id(&[b"push-1", b"3", b"cd"]));
        assert_ne!(derived_id(&[b"ab", b"c"]), derived_id(&[b"a", b"bc"]));
        assert_eq!(id.len(), 36);
    }
}
