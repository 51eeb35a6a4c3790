//! Body signatures: GitHub/Gitea's `X-Hub-Signature-256` and Standard Webhooks'
//! `webhook-signature`.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD as BASE64};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `sha256=<lowercase hex HMAC-SHA256 of the body>`.
pub fn hub_signature(secret: &Secret, body: &[u8]) -> String {
    let digest = hmac(secret.expose().as_bytes(), &[body]);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Base64 with or without its trailing `=` padding: the reference implementations
/// accept secrets either way.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The key bytes of a Standard Webhooks secret (`whsec_<base64>`, padded or not).
pub fn standard_key(secret: &Secret) -> Result<Vec<u8>, String> {
    let text = secret.expose();
    let encoded = text.strip_prefix("whsec_").unwrap_or(text);
    BASE64_ANY_PADDING
        .decode(encoded)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| "must be \"whsec_\" followed by base64 (as Standard Webhooks secrets are)".to_string())
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
pub fn standard_signature(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let digest = hmac(key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", BASE64.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_published_vector() {
        let key = standard_key(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).unwrap();
        let sig = standard_signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn hub_signature_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = hub_signature(&Secret::new("Jefe"), b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn unpadded_standard_secrets_decode_like_padded_ones() {
        let padded = standard_key(&Secret::new("whsec_c2l4dGVlbiBieXRlIGtleQ==")).unwrap();
        let unpadded = standard_key(&Secret::new("whsec_c2l4dGVlbiBieXRlIGtleQ")).unwrap();
        assert_eq!(padded, b"sixteen byte key");
        assert_eq!(unpadded, padded);
    }

    #[test]
    fn bad_standard_secrets_are_refused() {
        assert!(standard_key(&Secret::new("whsec_!!!")).is_err());
    }
}
