//! The environment a command gets: an allow-list, not the wizard's own.
//!
//! The wizard runs with the user's shell environment, which may hold provider
//! keys, cloud credentials and tokens with odd padding. Removing exact matches
//! misses `KEY=value ` and every secret the wizard does not know of, so a
//! child starts from nothing and gets only what a toolchain needs: the basics
//! (`PATH`, `HOME`, locale, `TMPDIR`, `TERM`, `CI`…), `NODE_*`, `npm_config_*`
//! and the framework's public prefixes from content. Even then, a name that
//! looks like a secret's (`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`,
//! `*AUTH*`, `*CREDENTIAL*`…) and a value that holds a known secret, in any
//! form the [`crate::secrets::Redactor`] recognises, never reach the child.

use std::ffi::{OsStr, OsString};

use super::context::Secrets;

/// Variables passed as they are (when not secret-looking).
const BASICS: [&str; 17] = [
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
    "PWD",
];

/// Prefixes passed (when not secret-looking), besides the content's public ones.
const PREFIXES: [&str; 3] = ["LC_", "NODE_", "npm_config_"];

/// Pieces of a name that mark a secret, matched case-insensitively.
const SECRET_MARKS: [&str; 11] = [
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
    "CERT",
];

/// True when a variable's name looks like it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKS.iter().any(|mark| upper.contains(mark))
}

/// The variables a child gets, from `vars` (the wizard's environment).
pub fn child_env<I>(
    vars: I,
    public_prefixes: &[String],
    secrets: &Secrets,
) -> Vec<(OsString, OsString)>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    let redactor = secrets.redactor();
    vars.into_iter()
        .filter(|(name, value)| {
            let Some(name) = name.to_str() else {
                return false;
            };
            let allowed = BASICS.contains(&name)
                || PREFIXES.iter().any(|p| name.starts_with(p))
                || public_prefixes
                    .iter()
                    .any(|p| !p.is_empty() && name.starts_with(p.as_str()));
            allowed
                && !is_secret_name(name)
                && !value_holds_secret(value, |text| redactor.contains_secret(text))
        })
        .collect()
}

fn value_holds_secret(value: &OsStr, contains: impl Fn(&str) -> bool) -> bool {
    // A value that is not text cannot be checked, so it is not passed.
    value.to_str().is_none_or(contains)
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
            ]),
            &["NEXT_PUBLIC_".to_string()],
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
                "NEXT_PUBLIC_SITE"
            ]
        );
    }
}
