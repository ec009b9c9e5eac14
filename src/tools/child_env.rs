//! The environment a command gets: an allow-list, not the wizard's own.
//!
//! The wizard runs with the user's shell environment, which may hold provider
//! keys, cloud credentials and tokens with odd padding. Removing exact matches
//! misses `KEY=value ` and every secret the wizard does not know of, so a
//! child starts from nothing and gets only what a toolchain needs: the basics
//! (`PATH`, `HOME`, locale, `TMPDIR`, `TERM`, `CI`, proxies…), `NODE_*`,
//! `npm_config_*`, and from content the framework's public prefixes and the
//! variables its toolchain reads. Even then, a name that looks like a secret's
//! (`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*AUTH*`, `*CREDENTIAL*`…), a
//! value that holds a known secret in any form the [`crate::secrets::Redactor`]
//! recognises, and a URL that carries a password never reach the child.

use std::ffi::{OsStr, OsString};
use std::sync::OnceLock;

use regex::Regex;

use super::context::{Fences, Secrets};

/// Variables passed as they are (when not secret-looking).
const BASICS: [&str; 24] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TMPDIR",
    "TMP",
    "TEMP",
    "TERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "CI",
    "NO_COLOR",
    "FORCE_COLOR",
    "COLORTERM",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
];

/// Prefixes passed (when not secret-looking), besides the content's ones.
const PREFIXES: [&str; 5] = ["LC_", "NODE_", "npm_config_", "XDG_", "COREPACK_"];

/// Pieces of a name that mark a secret, matched case-insensitively.
const SECRET_MARKS: [&str; 10] = [
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "AUTH",
    "CREDENTIAL",
    "PRIVATE",
    "COOKIE",
    "SESSION",
];

/// True when a variable's name looks like it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKS.iter().any(|mark| upper.contains(mark))
}

/// The variables a child gets, from `vars` (the wizard's environment): the basics,
/// and the content's public prefixes and command variables (`NAME`, or `PREFIX*`).
pub fn child_env<I>(vars: I, fences: &Fences, secrets: &Secrets) -> Vec<(OsString, OsString)>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    let redactor = secrets.redactor();
    let from_content = |name: &str| {
        fences
            .public_env_prefixes
            .iter()
            .any(|p| !p.is_empty() && name.starts_with(p.as_str()))
            || fences
                .command_env
                .iter()
                .any(|entry| match entry.strip_suffix('*') {
                    Some(prefix) => !prefix.is_empty() && name.starts_with(prefix),
                    None => entry == name,
                })
    };
    vars.into_iter()
        .filter(|(name, value)| {
            let Some(name) = name.to_str() else {
                return false;
            };
            let allowed = BASICS.contains(&name)
                || PREFIXES.iter().any(|p| name.starts_with(p))
                || from_content(name);
            allowed
                && !is_secret_name(name)
                && !value_holds_secret(value, |text| {
                    redactor.contains_secret(text) || url_credentials().is_match(text)
                })
        })
        .collect()
}

fn value_holds_secret(value: &OsStr, contains: impl Fn(&str) -> bool) -> bool {
    // A value that is not text cannot be checked, so it is not passed.
    value.to_str().is_none_or(contains)
}

/// `scheme://user:password@host`: a URL that carries its own credentials (a proxy, an index).
fn url_credentials() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]*@")
            .unwrap_or_else(|_| unreachable!("the URL-credential pattern is a valid regex"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(n, v)| (OsString::from(n), OsString::from(v)))
            .collect()
    }

    fn names(env: &[(OsString, OsString)]) -> Vec<String> {
        env.iter()
            .map(|(n, _)| n.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn only_allowed_names_pass_and_secret_names_never_do() {
        let mut secrets = Secrets::default();
        secrets.insert_hidden("sk-live-0123456789abcdef");
        let env = child_env(
            vars(&[
                ("PATH", "/usr/bin"),
                ("HOME", "/home/u"),
                ("LC_ALL", "C"),
                ("NODE_ENV", "production"),
                ("NODE_AUTH_TOKEN", "npm_xyz"),
                ("npm_config_cache", "/tmp/c"),
                ("npm_config__authToken", "abc"),
                ("NEXT_PUBLIC_SITE", "x"),
                ("NEXT_PUBLIC_POSTHOG_KEY", "phc_x"),
                ("OPENAI_API_KEY", "sk-live-0123456789abcdef "),
                ("POSTHOG_PERSONAL_API_KEY", "phx_123\n"),
                ("AWS_SECRET_ACCESS_KEY", "a"),
                ("DATABASE_URL", "postgres://u:p@h/db"),
                ("RANDOM_SETTING", "visible"),
                ("NODE_EXTRA", " sk-live-0123456789abcdef"),
                ("NEXT_TELEMETRY_DISABLED", "1"),
                ("NEXT_RUNTIME", "edge"),
                ("ASTRO_TELEMETRY_DISABLED", "1"),
                ("HTTPS_PROXY", "http://proxy.test:3128"),
                ("HTTP_PROXY", "http://me:hunter2@proxy.test:3128"),
            ]),
            &Fences {
                public_env_prefixes: vec!["NEXT_PUBLIC_".into()],
                command_env: vec!["NEXT_TELEMETRY_DISABLED".into(), "ASTRO_*".into()],
                ..Fences::default()
            },
            &secrets,
        );
        assert_eq!(
            names(&env),
            [
                "PATH",
                "HOME",
                "LC_ALL",
                "NODE_ENV",
                "npm_config_cache",
                "NEXT_PUBLIC_SITE",
                "NEXT_TELEMETRY_DISABLED",
                "ASTRO_TELEMETRY_DISABLED",
                "HTTPS_PROXY"
            ]
        );
    }
}
