//! A secret a provider client sends with every request (an API key or a bearer token).
//!
//! It lives in its own type so that nothing can print it by accident: `Debug`
//! and `Display` show a fixed placeholder, and the only way to read the value
//! is [`ApiSecret::expose`], which the clients call when they build a header.

use std::fmt;

/// An API key or token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiSecret(String);

impl ApiSecret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        ApiSecret(value.into())
    }

    /// The raw value, for building a request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the value is empty (an unset environment variable read as "").
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(<redacted>)")
    }
}

impl fmt::Display for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_never_printed() {
        let secret = ApiSecret::new("sk-ant-very-secret");
        assert!(!format!("{secret:?}").contains("very-secret"));
        assert!(!format!("{secret}").contains("very-secret"));
        assert_eq!(secret.expose(), "sk-ant-very-secret");
    }
}
