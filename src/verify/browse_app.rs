//! `browse_app`: opens a page of the running app in the headless browser, does a few
//! simple things on it (click, fill, submit, wait) and says which capture requests the
//! page sent and what they were answered. Offered to the verify agent only when a
//! browser is on the machine ([`super::browser::find`]); the browser starts on the first
//! call and is stopped by [`BrowseApp::stop`] when the step ends.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::browser::{Browser, Watch};
use super::relay::RelayedEvent;
use super::request_app::app_url;
use crate::providers::ToolSpec;
use crate::tools::input;
use crate::tools::{Tool, ToolContext, ToolError, ToolOutput};

/// The tool's name.
pub const BROWSE_APP: &str = "browse_app";
/// How long a page has to finish loading.
const LOAD_TIMEOUT: Duration = Duration::from_secs(20);
/// How long capture requests still in flight after the settle time are waited for.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// The longest `wait` one action may ask for.
const MAX_WAIT_MS: u64 = 10_000;
/// Characters of the page's text handed back.
const TEXT_CHARS: usize = 1_500;

/// The page's URL, title, start of its text and its controls, for the agent to pick
/// selectors from.
const DESCRIBE_PAGE: &str = r#"(() => {
  const controls = [];
  for (const el of document.querySelectorAll('a[href],button,input,select,textarea,form,[role=button]')) {
    if (controls.length >= 40) break;
    const tag = el.tagName.toLowerCase();
    const id = el.id ? '#' + el.id : '';
    const name = el.getAttribute('name') ? `[name="${el.getAttribute('name')}"]` : '';
    const type = (tag === 'input' && el.type) ? ` type=${el.type}` : '';
    const label = (el.innerText || el.value || el.getAttribute('aria-label') || el.getAttribute('placeholder') || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    controls.push(tag + id + name + type + (label ? ` "${label}"` : ''));
  }
  return {url: location.href, title: document.title,
          text: document.body ? document.body.innerText : '', controls};
})()"#;

/// `browse_app`, bound to one running app.
pub struct BrowseApp {
    base: reqwest::Url,
    program: PathBuf,
    watch: Watch,
    settle: Duration,
    browser: tokio::sync::Mutex<Slot>,
}

enum Slot {
    NotStarted,
    Running(Box<Browser>),
    Failed(String),
    Stopped,
}

/// Input of `browse_app`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrowseAppInput {
    /// The path to open first (`/`, `/pricing`); omit it to act on the page already open.
    #[serde(default)]
    pub path: Option<String>,
    /// What to do on the page, in order.
    #[serde(default)]
    pub actions: Vec<PageAction>,
}

/// One thing to do on the page.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageAction {
    /// `click`, `fill`, `submit` (the form the selector names or is in) or `wait`.
    pub action: String,
    /// A CSS selector (`#subscribe`, `form button[type=submit]`); not for `wait`.
    #[serde(default)]
    pub selector: Option<String>,
    /// The text to type, for `fill`.
    #[serde(default)]
    pub value: Option<String>,
    /// Milliseconds, for `wait` (at most 10000).
    #[serde(default)]
    pub ms: Option<u64>,
}

impl BrowseApp {
    /// The tool for the app at `base`, with the browser at `program`; after a call's
    /// actions it waits `settle` for the SDK to send what it queued.
    pub fn new(
        base: &str,
        program: PathBuf,
        watch: Watch,
        settle: Duration,
    ) -> Result<Self, ToolError> {
        let base = reqwest::Url::parse(base)
            .map_err(|e| ToolError::Failed(format!("the app's url {base} is not a url: {e}")))?;
        Ok(Self {
            base,
            program,
            watch,
            settle,
            browser: tokio::sync::Mutex::new(Slot::NotStarted),
        })
    }

    /// Stops the browser; the events its pages sent, or `None` when no page was opened.
    pub async fn stop(&self) -> Option<Vec<RelayedEvent>> {
        let mut slot = self.browser.lock().await;
        match std::mem::replace(&mut *slot, Slot::Stopped) {
            Slot::Running(browser) => Some(browser.stop().await),
            _ => None,
        }
    }

    async fn run(&self, browser: &Browser, args: &BrowseAppInput) -> Result<String, ToolError> {
        let mut lines = Vec::new();
        let before = browser.capture_count();
        if let Some(path) = &args.path {
            let url = app_url(&self.base, BROWSE_APP, path)?;
            browser.forget_document();
            let navigated = browser
                .page_call("Page.navigate", serde_json::json!({"url": url.as_str()}))
                .await
                .map_err(|e| ToolError::Failed(e.to_string()))?;
            if let Some(error) = navigated.get("errorText").and_then(Value::as_str) {
                return Err(ToolError::Failed(format!(
                    "browse_app: {path} did not load: {error}"
                )));
            }
            wait_loaded(browser).await;
            let status = browser
                .document()
                .map(|(_, status)| status.to_string())
                .unwrap_or_else(|| "?".into());
            lines.push(format!("opened {path} → {status}"));
        }
        for action in &args.actions {
            lines.push(self.act(browser, action).await?);
        }
        tokio::time::sleep(self.settle).await;
        let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
        while browser.captures_waiting() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let sent = browser.captures_since(before);
        if sent.is_empty() {
            lines.push("capture requests the page sent: none".into());
        } else {
            lines.push("capture requests the page sent:".into());
            lines.extend(sent.into_iter().map(|s| format!("  {s}")));
        }
        match browser.evaluate(DESCRIBE_PAGE).await {
            Ok(page) => lines.push(describe(&page)),
            Err(why) => lines.push(format!("the page could not be read: {why}")),
        }
        Ok(lines.join("\n"))
    }

    async fn act(&self, browser: &Browser, action: &PageAction) -> Result<String, ToolError> {
        let kind = action.action.to_ascii_lowercase();
        if kind == "wait" {
            let ms = action.ms.unwrap_or(1_000).min(MAX_WAIT_MS);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            return Ok(format!("waited {ms} ms"));
        }
        let selector = action.selector.as_deref().ok_or_else(|| {
            ToolError::InvalidInput(format!("browse_app: `{kind}` needs a selector"))
        })?;
        let script = match kind.as_str() {
            "click" => click_script(selector),
            "submit" => submit_script(selector),
            "fill" => {
                let value = action.value.as_deref().ok_or_else(|| {
                    ToolError::InvalidInput("browse_app: `fill` needs a value".into())
                })?;
                fill_script(selector, value)
            }
            other => {
                return Err(ToolError::InvalidInput(format!(
                    "browse_app: action {other:?} is not one of click, fill, submit, wait"
                )))
            }
        };
        let done = match browser.evaluate(&script).await {
            Ok(Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(why) => format!("failed: {why}"),
        };
        // A click or a submit may navigate: let the next page load before going on.
        tokio::time::sleep(Duration::from_millis(300)).await;
        wait_loaded(browser).await;
        Ok(format!("{kind} {selector}: {done}"))
    }
}

/// Waits until the page's `document.readyState` is `complete`, or the load timeout.
async fn wait_loaded(browser: &Browser) {
    let deadline = tokio::time::Instant::now() + LOAD_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if let Ok(Value::String(state)) = browser.evaluate("document.readyState").await {
            if state == "complete" {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A JavaScript string literal for `text`.
fn js(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

fn click_script(selector: &str) -> String {
    format!(
        "(() => {{ const el = document.querySelector({s}); \
         if (!el) return 'no element matches'; el.click(); return 'clicked'; }})()",
        s = js(selector)
    )
}

/// Sets the value through the element's own setter and fires `input` and `change`, so
/// frameworks that track the value (React, Vue) see it as typed.
fn fill_script(selector: &str, value: &str) -> String {
    format!(
        "(() => {{ const el = document.querySelector({s}); \
         if (!el) return 'no element matches'; el.focus(); \
         const proto = Object.getPrototypeOf(el); \
         const setter = Object.getOwnPropertyDescriptor(proto, 'value')?.set; \
         if (setter) setter.call(el, {v}); else el.value = {v}; \
         el.dispatchEvent(new Event('input', {{bubbles: true}})); \
         el.dispatchEvent(new Event('change', {{bubbles: true}})); return 'filled'; }})()",
        s = js(selector),
        v = js(value)
    )
}

/// Submits as a person would (`requestSubmit`: validation and `submit` handlers run).
fn submit_script(selector: &str) -> String {
    format!(
        "(() => {{ const el = document.querySelector({s}); \
         if (!el) return 'no element matches'; \
         const form = el instanceof HTMLFormElement ? el : (el.form || el.closest('form')); \
         if (!form) return 'not a form, nor in one'; \
         if (!form.checkValidity()) return 'the form has invalid fields'; \
         form.requestSubmit(); return 'submitted'; }})()",
        s = js(selector)
    )
}

/// `page: /pricing "Pricing"`, the start of its text, and its controls.
fn describe(page: &Value) -> String {
    let text = |k: &str| page.get(k).and_then(Value::as_str).unwrap_or_default();
    let body: String = text("text").chars().take(TEXT_CHARS).collect();
    let controls: Vec<&str> = page
        .get("controls")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!(
        "page: {} {:?}\ntext: {}\ncontrols: {}",
        text("url"),
        text("title"),
        body.trim(),
        controls.join("; ")
    )
}

#[async_trait]
impl Tool for BrowseApp {
    fn spec(&self) -> ToolSpec {
        input::spec_for::<BrowseAppInput>(
            BROWSE_APP,
            "Opens a page of the running app in a headless browser (a path on the app only), \
             then does the given actions in order (click, fill, submit a form, wait), waits \
             for the page to send what it queued, and returns the capture requests the page \
             sent with their answers, the page's text and its controls. The page stays open \
             between calls; omit `path` to act on it again.",
        )
    }

    fn activity(&self, input: &Value) -> String {
        match input.get("path").and_then(Value::as_str) {
            Some(path) => format!("Opening {path} in the browser"),
            None => "Acting on the page in the browser".into(),
        }
    }

    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        let args: BrowseAppInput = input::parse(BROWSE_APP, input)?;
        let mut slot = self.browser.lock().await;
        if matches!(*slot, Slot::NotStarted) {
            *slot = match Browser::start(
                &self.program,
                &ctx.install_dir,
                &ctx.fences,
                &ctx.secrets,
                self.watch.clone(),
            )
            .await
            {
                Ok(browser) => Slot::Running(Box::new(browser)),
                Err(e) => Slot::Failed(e.to_string()),
            };
        }
        let browser = match &*slot {
            Slot::Running(browser) => browser,
            Slot::Failed(why) => return Err(ToolError::Failed(format!("browse_app: {why}"))),
            _ => {
                return Err(ToolError::Failed(
                    "browse_app: the browser was stopped".into(),
                ))
            }
        };
        if args.path.is_none() && browser.document().is_none() {
            return Err(ToolError::InvalidInput(
                "browse_app: no page is open yet; give a `path`".into(),
            ));
        }
        let text = self.run(browser, &args).await?;
        Ok(ToolOutput::text(ctx.secrets.redact(&text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_values_are_passed_as_string_literals() {
        let script = fill_script("input[name=\"q\"]", "it's </script>\n");
        assert!(script.contains(r#"document.querySelector("input[name=\"q\"]")"#));
        assert!(script.contains(r#"setter.call(el, "it's </script>\n")"#));
    }

    #[test]
    fn the_page_is_described_with_its_controls() {
        let page = serde_json::json!({"url": "http://127.0.0.1:1/p", "title": "P",
            "text": "  Hello  ", "controls": ["button#go \"Go\"", "input[name=\"q\"] type=text"]});
        assert_eq!(
            describe(&page),
            "page: http://127.0.0.1:1/p \"P\"\ntext: Hello\ncontrols: button#go \"Go\"; input[name=\"q\"] type=text"
        );
    }
}
