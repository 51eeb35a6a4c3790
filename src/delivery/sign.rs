//! Body signatures: the HMAC headers of each flavour (`X-Hub-Signature`,
//! `X-Hub-Signature-256`, `X-Gitea-Signature`) and Standard Webhooks'
//! `webhook-signature`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use crate::config::secret::{Secret, SigningKey};
use crate::payload::SignatureForm;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The HMAC of the body keyed with `secret`, written in `form`.
pub fn body_signature(form: SignatureForm, secret: &Secret, body: &[u8]) -> String {
    let key = secret.expose().as_bytes();
    match form {
        SignatureForm::Sha1Prefixed => {
            let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(body);
            format!("sha1={}", hex(&mac.finalize().into_bytes()))
        }
        SignatureForm::Sha256Prefixed => format!("sha256={}", hex(&hmac(key, &[body]))),
        SignatureForm::Sha256Hex => hex(&hmac(key, &[body])),
    }
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
pub fn standard_signature(key: &SigningKey, id: &str, timestamp: u64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let digest = hmac(key.expose(), &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", BASE64.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_published_vector() {
        let key = SigningKey::from_secret(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).unwrap();
        let sig = standard_signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn body_signatures_match_rfc4231_case_2_and_rfc2202_case_2() {
        // Key "Jefe", data "what do ya want for nothing?": RFC 4231 (SHA-256) and
        // RFC 2202 (SHA-1) test case 2.
        let (secret, data) = (Secret::new("Jefe"), b"what do ya want for nothing?");
        let sha256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            body_signature(SignatureForm::Sha256Prefixed, &secret, data),
            format!("sha256={sha256}")
        );
        assert_eq!(body_signature(SignatureForm::Sha256Hex, &secret, data), sha256);
        assert_eq!(
            body_signature(SignatureForm::Sha1Prefixed, &secret, data),
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
