//! PKCE (RFC 7636, S256) and the `state` value of one authorization request.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// One authorization request's secrets: the PKCE verifier and the `state`.
#[derive(Clone)]
pub struct Pkce {
    verifier: String,
    state: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pkce(<redacted>)")
    }
}

impl Pkce {
    /// Fresh random values (32 bytes each, base64url without padding).
    pub fn generate() -> Self {
        Pkce {
            verifier: random_b64(32),
            state: random_b64(16),
        }
    }

    /// The verifier sent with the token exchange.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// The `code_challenge` sent with the authorize request.
    pub fn challenge(&self) -> String {
        challenge_for(&self.verifier)
    }

    /// The `state` the callback must echo.
    pub fn state(&self) -> &str {
        &self.state
    }
}

/// `BASE64URL(SHA256(verifier))`, the S256 challenge.
pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_matches_the_rfc_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn each_request_gets_new_values() {
        let a = Pkce::generate();
        let b = Pkce::generate();
        assert_ne!(a.verifier(), b.verifier());
        assert_ne!(a.state(), b.state());
        assert_eq!(a.verifier().len(), 43);
        assert!(!format!("{a:?}").contains(a.verifier()));
    }
}
