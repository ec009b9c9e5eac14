//! Reading events out of a capture request: the one parser for what the product's SDKs
//! send, used by the recording relay (requests the app's server sends) and by the
//! headless browser (requests the app's pages send).
//!
//! A body is decoded the ways the SDKs send it (gzip by header or magic bytes, a form's
//! base64 `data=` field, plain JSON) and the events are taken from it with the JSON
//! pointers of `product.yaml` → `verify.relay`. Nothing here knows the product.

use std::io::Read;

use axum::http::HeaderMap;
use base64::Engine as _;
use serde_json::Value;

use crate::content::product::RelayRules;

/// True when `path` is one of the content's capture paths (a trailing `/` optional).
pub fn is_capture_path(rules: &RelayRules, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    rules
        .capture_paths
        .iter()
        .any(|p| p.trim_end_matches('/') == path)
}

/// The events (name, distinct id) in one capture request's body, decoded the ways the
/// SDKs send it; a body the relay cannot read yields none (it is still forwarded).
pub fn events_in(
    rules: &RelayRules,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Vec<(String, Option<String>)> {
    let Some(json) = decode_body(headers, query, body) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match (json.pointer(&rules.batch), &json) {
        (Some(Value::Array(items)), _) => items.iter().collect(),
        (_, Value::Array(items)) => items.iter().collect(),
        (_, one) => vec![one],
    };
    items
        .into_iter()
        .filter_map(|item| {
            let name = item.pointer(&rules.event)?.as_str()?.to_string();
            let distinct_id = rules
                .distinct_id
                .iter()
                .find_map(|p| match item.pointer(p)? {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            Some((name, distinct_id))
        })
        .collect()
}

/// The body as JSON: gunzipped when it is gzip (by header or magic bytes: posthog-js
/// sends `gzip-js` as `text/plain`), the `data` field of a form taken and base64-decoded
/// when it is not JSON itself.
fn decode_body(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Option<Value> {
    let bytes = gunzip_if_gzip(headers, body)?;
    if let Ok(json) = serde_json::from_slice::<Value>(&bytes) {
        return Some(json);
    }
    let text = std::str::from_utf8(&bytes).ok()?;
    let data = form_field(text, "data").or_else(|| query.and_then(|q| form_field(q, "data")))?;
    if let Ok(json) = serde_json::from_str::<Value>(&data) {
        return Some(json);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()?;
    let decoded = gunzip_if_gzip(&HeaderMap::new(), &decoded)?;
    serde_json::from_slice(&decoded).ok()
}

fn gunzip_if_gzip(headers: &HeaderMap, body: &[u8]) -> Option<Vec<u8>> {
    let declared = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !declared && !body.starts_with(&[0x1f, 0x8b]) {
        return Some(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// One field of an `application/x-www-form-urlencoded` text, decoded.
fn form_field(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if key != name {
            return None;
        }
        let value = value.replace('+', " ");
        percent_encoding::percent_decode_str(&value)
            .decode_utf8()
            .ok()
            .map(|v| v.into_owned())
    })
}

/// True when `path` ends with one of the content's capture paths: a browser sends to the
/// host's own path (`/e/`) or through the app's reverse proxy (`/ingest/e/`, `/ph/e/`),
/// whose prefix is the app's choice.
pub fn ends_with_capture_path(rules: &RelayRules, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    rules.capture_paths.iter().any(|p| {
        let p = p.trim_end_matches('/');
        !p.is_empty()
            && path
                .strip_suffix(p)
                .is_some_and(|prefix| prefix.is_empty() || prefix.starts_with('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn rules() -> RelayRules {
        RelayRules {
            capture_paths: vec!["/batch/".into(), "/e/".into(), "/i/v0/e/".into()],
            batch: "/batch".into(),
            event: "/event".into(),
            distinct_id: vec!["/distinct_id".into(), "/properties/distinct_id".into()],
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn names(events: &[(String, Option<String>)]) -> Vec<(&str, Option<&str>)> {
        events
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_deref()))
            .collect()
    }

    #[test]
    fn a_capture_path_behind_a_proxy_prefix_is_recognised_but_not_a_longer_word() {
        let r = rules();
        assert!(ends_with_capture_path(&r, "/e/"));
        assert!(ends_with_capture_path(&r, "/ingest/e/"));
        assert!(ends_with_capture_path(&r, "/ph/i/v0/e"));
        assert!(!ends_with_capture_path(&r, "/ingest/flags/"));
        assert!(!ends_with_capture_path(&r, "/api/recipe/"));
        assert!(!ends_with_capture_path(&r, "/api/mybatch"));
        assert!(!ends_with_capture_path(&r, "/"));
    }

    #[test]
    fn capture_paths_match_with_or_without_the_trailing_slash() {
        let r = rules();
        assert!(is_capture_path(&r, "/batch/"));
        assert!(is_capture_path(&r, "/batch"));
        assert!(is_capture_path(&r, "/i/v0/e/"));
        assert!(!is_capture_path(&r, "/flags/"));
        assert!(!is_capture_path(&r, "/s/"));
    }

    #[test]
    fn a_node_batch_gzipped_by_header_yields_its_events() {
        let body = br#"{"api_key":"phc_x","batch":[{"event":"signed_up","distinct_id":"u1"},{"event":"$identify","distinct_id":7}]}"#;
        let mut headers = HeaderMap::new();
        headers.insert("content-encoding", "gzip".parse().unwrap());
        let events = events_in(&rules(), &headers, None, &gzip(body));
        assert_eq!(
            names(&events),
            [("signed_up", Some("u1")), ("$identify", Some("7"))]
        );
    }

    #[test]
    fn a_browser_envelope_keeps_the_distinct_id_in_its_properties() {
        // posthog-js `gzip-js`: text/plain, gzip by magic bytes, `{batch: [...]}`.
        let body = br#"{"batch":[{"event":"$pageview","properties":{"distinct_id":"anon-1"}}],"sent_at":"x"}"#;
        let events = events_in(
            &rules(),
            &HeaderMap::new(),
            Some("compression=gzip-js"),
            &gzip(body),
        );
        assert_eq!(names(&events), [("$pageview", Some("anon-1"))]);
    }

    #[test]
    fn a_base64_form_body_and_a_plain_list_and_a_single_event_are_read() {
        let json = r#"[{"event":"clicked","properties":{"distinct_id":"d"}}]"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let form = format!(
            "data={}",
            percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC)
        );
        let events = events_in(
            &rules(),
            &HeaderMap::new(),
            Some("compression=base64"),
            form.as_bytes(),
        );
        assert_eq!(names(&events), [("clicked", Some("d"))]);
        let events = events_in(&rules(), &HeaderMap::new(), None, json.as_bytes());
        assert_eq!(names(&events), [("clicked", Some("d"))]);
        let one = br#"{"api_key":"k","event":"single","distinct_id":"x"}"#;
        let events = events_in(&rules(), &HeaderMap::new(), None, one);
        assert_eq!(names(&events), [("single", Some("x"))]);
    }

    #[test]
    fn an_unreadable_body_yields_no_events() {
        assert!(events_in(&rules(), &HeaderMap::new(), None, b"\x1f\x8bnot gzip").is_empty());
        assert!(events_in(&rules(), &HeaderMap::new(), None, b"hello").is_empty());
        assert!(events_in(&rules(), &HeaderMap::new(), None, br#"{"batch":[{"x":1}]}"#).is_empty());
    }
}
