//! `request_app`: one HTTP request to the app the runtime started, and nowhere else.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::messages::AppRequest;
use crate::providers::ToolSpec;
use crate::tools::input;
use crate::tools::{Tool, ToolContext, ToolError, ToolOutput};

/// The tool's name.
pub const REQUEST_APP: &str = "request_app";
/// Characters of a response body handed back.
const BODY_CHARS: usize = 4_000;
/// How long one request may take (a first request compiles nothing in production, but a
/// server route may call out).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `request_app`, bound to one running app's loopback port.
pub struct RequestApp {
    base: reqwest::Url,
    client: reqwest::Client,
    log: Arc<Mutex<Vec<AppRequest>>>,
}

impl RequestApp {
    /// The tool for the app at `base` (`http://127.0.0.1:PORT`); every request is added to `log`.
    pub fn new(base: &str, log: Arc<Mutex<Vec<AppRequest>>>) -> Result<Self, ToolError> {
        let base = reqwest::Url::parse(base)
            .map_err(|e| ToolError::Failed(format!("the app's url {base} is not a url: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| ToolError::Failed(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self { base, client, log })
    }

    /// The url for `path`, refused unless it stays on the app's origin.
    fn url_for(&self, path: &str) -> Result<reqwest::Url, ToolError> {
        app_url(&self.base, REQUEST_APP, path)
    }
}

/// The url for `path` on the app at `base`, refused unless it stays on that origin; `tool`
/// names the tool in the error.
pub(crate) fn app_url(
    base: &reqwest::Url,
    tool: &str,
    path: &str,
) -> Result<reqwest::Url, ToolError> {
    if !path.starts_with('/') || path.starts_with("//") || path.contains('\\') {
        return Err(ToolError::Denied(format!(
            "{tool}: path {path:?} must start with one `/`; only the running app can be requested"
        )));
    }
    let url = base
        .join(path)
        .map_err(|e| ToolError::InvalidInput(format!("{tool}: path {path:?}: {e}")))?;
    if url.origin() != base.origin() {
        return Err(ToolError::Denied(format!(
            "{tool}: {path:?} leaves the app at {base}"
        )));
    }
    Ok(url)
}

/// Input of `request_app`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestAppInput {
    /// GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    /// The path and query on the running app, e.g. `/api/subscribe` or `/pricing`.
    pub path: String,
    /// A JSON body (sent with `Content-Type: application/json`).
    #[serde(default)]
    pub body: Option<Value>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[async_trait]
impl Tool for RequestApp {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<RequestAppInput>(
            REQUEST_APP,
            "Sends one HTTP request to the built app the runtime started for this task (on a \
             loopback port) and returns the status, the content type, any `location` and \
             `set-cookie` headers (send a cookie back in `headers` as `Cookie`) and the start \
             of the body. Only paths on that app can be requested.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        let method = input.get("method").and_then(Value::as_str).unwrap_or("GET");
        match input.get("path").and_then(Value::as_str) {
            Some(path) => format!("Requesting {method} {path}"),
            None => "Requesting the app".into(),
        }
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        let args: RequestAppInput = input::parse(REQUEST_APP, input)?;
        let method = match args.method.to_ascii_uppercase().as_str() {
            "GET" => reqwest::Method::GET,
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            "PATCH" => reqwest::Method::PATCH,
            "DELETE" => reqwest::Method::DELETE,
            other => {
                return Err(ToolError::InvalidInput(format!(
                    "request_app: method {other:?} is not one of GET, POST, PUT, PATCH, DELETE"
                )))
            }
        };
        let url = self.url_for(&args.path)?;
        let mut request = self.client.request(method.clone(), url);
        for (name, value) in &args.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &args.body {
            request = request.json(body);
        }
        let response = request.send().await;
        let mut record = AppRequest {
            method: method.to_string(),
            path: args.path.clone(),
            status: None,
        };
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                self.push(record);
                return Err(ToolError::Failed(format!(
                    "request_app: {method} {} got no answer: {e}",
                    args.path
                )));
            }
        };
        let status = response.status();
        record.status = Some(status.as_u16());
        self.push(record);
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let carried = carried_headers(response.headers());
        let body = response.text().await.unwrap_or_default();
        let shown: String = body.chars().take(BODY_CHARS).collect();
        let cut = if body.chars().count() > BODY_CHARS {
            "\n[body cut]"
        } else {
            ""
        };
        let text = format!(
            "{method} {} → {status}\ncontent-type: {content_type}\n{carried}\n{shown}{cut}",
            args.path
        );
        Ok(ToolOutput::text(ctx.secrets.redact(&text)))
    }
}

/// The answer's `location` and `set-cookie` headers, one a line: what the agent needs to
/// follow a redirect or carry a session (`Cookie` in its next request's `headers`).
fn carried_headers(headers: &reqwest::header::HeaderMap) -> String {
    let mut lines = String::new();
    for name in [reqwest::header::LOCATION, reqwest::header::SET_COOKIE] {
        for value in headers.get_all(&name) {
            let value = String::from_utf8_lossy(value.as_bytes());
            lines.push_str(&format!("{name}: {value}\n"));
        }
    }
    lines
}

impl RequestApp {
    fn push(&self, record: AppRequest) {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_and_cookies_are_shown_to_carry_a_session() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.append("set-cookie", "sid=abc; Path=/; HttpOnly".parse().unwrap());
        headers.append("set-cookie", "theme=dark".parse().unwrap());
        headers.append("location", "/notes".parse().unwrap());
        headers.append("x-other", "no".parse().unwrap());
        assert_eq!(
            carried_headers(&headers),
            "location: /notes\nset-cookie: sid=abc; Path=/; HttpOnly\nset-cookie: theme=dark\n"
        );
    }

    #[test]
    fn only_paths_on_the_apps_origin_are_accepted() {
        let tool = RequestApp::new("http://127.0.0.1:4321", Arc::default()).unwrap();
        assert_eq!(
            tool.url_for("/api/subscribe?x=1").unwrap().as_str(),
            "http://127.0.0.1:4321/api/subscribe?x=1"
        );
        for bad in [
            "//evil.example/x",
            "http://evil.example/",
            "api/x",
            "/\\evil",
            "",
        ] {
            assert!(tool.url_for(bad).is_err(), "{bad}");
        }
    }
}
