//! The headless browser of the verify step: client-side events fire only in a page, so
//! when a Chromium or Chrome is on the machine the step loads the app's pages in one and
//! records the capture requests those pages send.
//!
//! The browser is found on `PATH` (or named by [`BROWSER_ENV`]), started headless with a
//! fresh temporary profile in its own supervised process group, and driven over the
//! DevTools protocol on its pipe ([`super::cdp`]). The Network domain shows every request
//! a page sends and the answer it got, whatever the host (https included: nothing sits in
//! between), so a capture request is recorded when it goes to the run's host or back to
//! the app's own origin (a reverse proxy such as `/ingest`) and its path ends with one of
//! the content's capture paths. Its body is read with the relay's parser
//! ([`super::capture_body`]); its answer is "reached" when 2xx. [`Browser::stop`] closes
//! the browser, kills what is left of its group and removes the profile; a drop (the
//! task cut, the run interrupted) kills the group too.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::capture_body::{ends_with_capture_path, events_in};
use super::cdp::{Cdp, CdpError, CdpEvent};
use super::relay::{HostAnswer, RelayedEvent};
use crate::content::product::RelayRules;
use crate::tools::process::{command_marker, kill_group, kill_marked, supervise};
use crate::tools::{Fences, Secrets};

/// The environment variable that names the browser to use (a path or a program on
/// `PATH`); empty or `none` means "no browser".
pub const BROWSER_ENV: &str = "WIZARD_BROWSER";
/// The programs looked for on `PATH`, in order.
const PROGRAMS: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];
/// How long the browser has to close itself before its group is killed.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// The browser's fds for the DevTools pipe (fixed by `--remote-debugging-pipe`).
const PIPE_IN_FD: i32 = 3;
const PIPE_OUT_FD: i32 = 4;

/// Why no browser could be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrowserError {
    /// None on the machine.
    #[error("{0}")]
    NotFound(String),
    /// It did not start, or stopped answering.
    #[error("the browser {program}: {why}")]
    Failed {
        /// The program.
        program: String,
        /// What went wrong.
        why: String,
    },
}

/// Finds the browser: `WIZARD_BROWSER` when set (a path, or a name on `PATH`; empty or
/// `none` turns the browser off), else the first of Chromium's and Chrome's usual names
/// on `PATH`.
pub fn find(over: Option<OsString>, path: Option<OsString>) -> Result<PathBuf, BrowserError> {
    let names: Vec<OsString> = match over {
        Some(name) if name.is_empty() || name == "none" => {
            return Err(BrowserError::NotFound(format!("{BROWSER_ENV} is {name:?}")))
        }
        Some(name) => vec![name],
        None => PROGRAMS.iter().map(OsString::from).collect(),
    };
    let dirs: Vec<PathBuf> = path
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for name in &names {
        let as_path = Path::new(name);
        if as_path.components().count() > 1 {
            if is_executable(as_path) {
                return Ok(as_path.to_path_buf());
            }
            continue;
        }
        if let Some(found) = dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p)) {
            return Ok(found);
        }
    }
    let looked = names
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    Err(BrowserError::NotFound(format!(
        "no browser found ({looked} on PATH, or {BROWSER_ENV})"
    )))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What the browser records, and for which hosts.
#[derive(Debug, Clone)]
pub struct Watch {
    /// The capture paths and the body's JSON pointers (`product.yaml` → `verify.relay`).
    pub rules: RelayRules,
    /// Origins whose capture requests count: the run's host and the app's own.
    pub origins: Vec<reqwest::Url>,
}

impl Watch {
    /// True when `url` is a capture request this run should count.
    fn counts(&self, url: &reqwest::Url) -> bool {
        let origin = url.origin();
        self.origins.iter().any(|o| o.origin() == origin)
            && ends_with_capture_path(&self.rules, url.path())
    }
}

/// One capture request a page sent.
#[derive(Debug, Clone)]
struct CaptureRequest {
    /// Origin and path, without the query.
    url: String,
    /// The events in its body (name, distinct id).
    events: Vec<(String, Option<String>)>,
    answer: HostAnswer,
}

/// What the pages did, as the browser's events tell it.
#[derive(Debug, Default)]
struct Record {
    captures: Vec<CaptureRequest>,
    by_request: HashMap<String, usize>,
    /// The last top-level document's URL and status.
    document: Option<(String, u16)>,
}

/// A running headless browser with one page.
pub struct Browser {
    program: String,
    child: Child,
    group: GroupGuard,
    marker: String,
    cdp: Arc<Cdp>,
    page: String,
    record: Arc<Mutex<Record>>,
    watcher: tokio::task::JoinHandle<()>,
    profile: Option<tempfile::TempDir>,
}

/// Kills the browser's group when dropped (a cut task must not leave a browser behind).
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0.take());
    }
}

impl Browser {
    /// Starts `program` headless with a fresh profile, opens one blank page and starts
    /// recording what `watch` describes. The browser's environment is the run's
    /// allow-listed one (no secrets).
    pub async fn start(
        program: &Path,
        install_dir: &Path,
        fences: &Fences,
        secrets: &Secrets,
        watch: Watch,
    ) -> Result<Self, BrowserError> {
        let name = program.display().to_string();
        let failed = |why: String| BrowserError::Failed {
            program: name.clone(),
            why,
        };
        let profile = tempfile::Builder::new()
            .prefix("wizard-browser-")
            .tempdir()
            .map_err(|e| failed(format!("no temporary profile: {e}")))?;
        // Two pipes: the browser reads commands on fd 3 and writes answers on fd 4.
        let (browser_reads, to_browser) = std::io::pipe().map_err(|e| failed(e.to_string()))?;
        let (from_browser, browser_writes) = std::io::pipe().map_err(|e| failed(e.to_string()))?;
        let browser_reads = above_pipe_fds(browser_reads.into())?;
        let browser_writes = above_pipe_fds(browser_writes.into())?;
        let mut cmd = Command::new(program);
        cmd.env_clear().envs(crate::tools::child_env::child_env(
            std::env::vars_os(),
            fences,
            secrets,
        ));
        cmd.args(launch_args(profile.path()))
            .current_dir(profile.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let marker = command_marker(install_dir);
        supervise(&mut cmd, &marker);
        let (read_fd, write_fd) = (browser_reads.as_raw_fd(), browser_writes.as_raw_fd());
        // SAFETY: between fork and exec, only dup2 (async-signal-safe), no allocation. Both
        // fds are above 4 (`above_pipe_fds`), so placing one cannot close the other; dup2
        // clears close-on-exec on the copies, which the browser inherits.
        unsafe {
            cmd.pre_exec(move || {
                place_fd(read_fd, PIPE_IN_FD)?;
                place_fd(write_fd, PIPE_OUT_FD)
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| failed(format!("did not start: {e}")))?;
        let group = GroupGuard(child.id());
        drop((browser_reads, browser_writes));
        let to_browser = pipe::Sender::from_owned_fd(OwnedFd::from(to_browser))
            .map_err(|e| failed(e.to_string()))?;
        let from_browser = pipe::Receiver::from_owned_fd(OwnedFd::from(from_browser))
            .map_err(|e| failed(e.to_string()))?;
        let (cdp, events) = Cdp::new(to_browser, from_browser);
        let cdp = Arc::new(cdp);
        let record = Arc::new(Mutex::new(Record::default()));
        let watcher = tokio::spawn(watch_network(events, cdp.clone(), watch, record.clone()));
        let mut browser = Self {
            program: name.clone(),
            child,
            group,
            marker,
            cdp,
            page: String::new(),
            record,
            watcher,
            profile: Some(profile),
        };
        match browser.open_page().await {
            Ok(page) => {
                browser.page = page;
                Ok(browser)
            }
            Err(e) => {
                let why = e.to_string();
                browser.stop().await;
                Err(failed(why))
            }
        }
    }

    async fn open_page(&self) -> Result<String, CdpError> {
        let target = self
            .cdp
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await?;
        let target_id = target.get("targetId").cloned().unwrap_or(Value::Null);
        let attached = self
            .cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await?;
        let session = attached
            .get("sessionId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.cdp
            .call(Some(&session), "Network.enable", json!({}))
            .await?;
        let version = self.cdp.call(None, "Browser.getVersion", json!({})).await?;
        self.cdp
            .call(
                Some(&session),
                "Emulation.setUserAgentOverride",
                user_agent_override(&version),
            )
            .await?;
        Ok(session)
    }

    /// Sends `method` to the page.
    pub async fn page_call(&self, method: &str, params: Value) -> Result<Value, BrowserError> {
        self.cdp
            .call(Some(&self.page), method, params)
            .await
            .map_err(|e| BrowserError::Failed {
                program: self.program.clone(),
                why: e.to_string(),
            })
    }

    /// Evaluates `expression` in the page and returns its value (promises awaited).
    pub async fn evaluate(&self, expression: &str) -> Result<Value, String> {
        let params = json!({"expression": expression, "returnByValue": true, "awaitPromise": true});
        let result = self
            .page_call("Runtime.evaluate", params)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(details) = result.get("exceptionDetails") {
            let text = details
                .pointer("/exception/description")
                .or_else(|| details.get("text"))
                .and_then(Value::as_str)
                .unwrap_or("an exception");
            return Err(text.lines().next().unwrap_or(text).to_string());
        }
        Ok(result
            .pointer("/result/value")
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// How many capture requests the pages have sent so far.
    pub fn capture_count(&self) -> usize {
        lock(&self.record).captures.len()
    }

    /// How many capture requests have had no answer yet.
    pub fn captures_waiting(&self) -> usize {
        lock(&self.record)
            .captures
            .iter()
            .filter(|c| c.answer == HostAnswer::Waiting)
            .count()
    }

    /// The last top-level document the page loaded, and its status.
    pub fn document(&self) -> Option<(String, u16)> {
        lock(&self.record).document.clone()
    }

    /// Forgets the last document, before a navigation.
    pub fn forget_document(&self) {
        lock(&self.record).document = None;
    }

    /// Lines describing the capture requests from the `from`-th on:
    /// `POST http://127.0.0.1:8010/e/ → 200: $pageview, clicked`.
    pub fn captures_since(&self, from: usize) -> Vec<String> {
        lock(&self.record)
            .captures
            .iter()
            .skip(from)
            .map(|c| {
                let answer = match &c.answer {
                    HostAnswer::Status(s) => s.to_string(),
                    HostAnswer::Waiting => "no answer yet".to_string(),
                    HostAnswer::Unreachable(why) => format!("failed ({why})"),
                };
                let names: Vec<&str> = c.events.iter().map(|(n, _)| n.as_str()).collect();
                format!("{} → {answer}: {}", c.url, names.join(", "))
            })
            .collect()
    }

    /// Closes the browser, kills what is left of its group and anything that left the
    /// group, removes its profile, and returns every event its pages sent.
    pub async fn stop(mut self) -> Vec<RelayedEvent> {
        let close = self.cdp.call(None, "Browser.close", json!({}));
        let _ = tokio::time::timeout(CLOSE_GRACE, close).await;
        if tokio::time::timeout(CLOSE_GRACE, self.child.wait())
            .await
            .is_err()
        {
            kill_group(self.group.0);
            let _ = self.child.wait().await;
        }
        // Helpers that outlived the main process (a renderer, a crash handler) go too.
        kill_group(self.group.0.take());
        kill_marked(&self.marker, false);
        self.watcher.abort();
        if let Some(profile) = self.profile.take() {
            let _ = tokio::task::spawn_blocking(move || profile.close()).await;
        }
        let record = lock(&self.record);
        let events = record
            .captures
            .iter()
            .flat_map(|c| {
                c.events.iter().map(|(event, distinct_id)| RelayedEvent {
                    event: event.clone(),
                    distinct_id: distinct_id.clone(),
                    path: c.url.clone(),
                    answer: c.answer.clone(),
                })
            })
            .collect();
        events
    }
}

fn lock(record: &Mutex<Record>) -> std::sync::MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(|p| p.into_inner())
}

/// The browser's own user agent, with `HeadlessChrome` said as `Chrome`, and client
/// hints to match. Analytics SDKs drop events from headless and automated browsers as
/// bots (posthog-js's `isLikelyBot` matches `headlesschrome` and `navigator.webdriver`),
/// which would make every client event look lost; the page must see the browser a
/// person would use. (`navigator.webdriver` is turned off by a launch flag.)
fn user_agent_override(version: &Value) -> Value {
    let agent = version
        .get("userAgent")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .replace("HeadlessChrome", "Chrome");
    let full = version
        .get("product")
        .and_then(Value::as_str)
        .and_then(|p| p.split_once('/'))
        .map_or("0", |(_, v)| v)
        .to_string();
    let major = full.split('.').next().unwrap_or("0").to_string();
    json!({
        "userAgent": agent,
        "userAgentMetadata": {
            "brands": [
                {"brand": "Chromium", "version": major},
                {"brand": "Not_A Brand", "version": "24"}
            ],
            "fullVersionList": [
                {"brand": "Chromium", "version": full},
                {"brand": "Not_A Brand", "version": "24.0.0.0"}
            ],
            "fullVersion": full,
            "platform": "Linux",
            "platformVersion": "",
            "architecture": "x86",
            "model": "",
            "mobile": false
        }
    })
}

/// The browser's command line: headless, the pipe, the profile, nothing that phones
/// home or waits for a person. Without a sandbox only as root, where Chromium refuses
/// to start with one.
fn launch_args(profile: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--headless",
        "--remote-debugging-pipe",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--password-store=basic",
        "--use-mock-keychain",
        // `navigator.webdriver` false: see `user_agent_override`.
        "--disable-blink-features=AutomationControlled",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let mut dir = OsString::from("--user-data-dir=");
    dir.push(profile);
    args.push(dir);
    if nix::unistd::geteuid().is_root() {
        args.push("--no-sandbox".into());
    }
    args.push("about:blank".into());
    args
}

/// A copy of `fd` numbered above the browser's pipe fds (close-on-exec), so that
/// placing the two copies at 3 and 4 in the child cannot overwrite one with the other.
fn above_pipe_fds(fd: OwnedFd) -> Result<OwnedFd, BrowserError> {
    nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(10))
        .map(|raw| {
            // SAFETY: F_DUPFD_CLOEXEC returned a new fd that nothing else owns.
            unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) }
        })
        .map_err(|e| BrowserError::Failed {
            program: "pipe".into(),
            why: e.to_string(),
        })
}

/// `dup2(fd, target)` in the child, between fork and exec.
fn place_fd(fd: i32, target: i32) -> std::io::Result<()> {
    // SAFETY: `target` is a number the child does not otherwise use (3 or 4, closed or
    // inherited by accident); the OwnedFd is never dropped, so nothing closes it.
    let mut target = std::mem::ManuallyDrop::new(unsafe {
        <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(target)
    });
    // SAFETY: `fd` is open in the child (inherited from the parent's pipe).
    let source = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    nix::unistd::dup2(source, &mut target).map_err(std::io::Error::from)
}

/// Records capture requests and their answers, and the top-level document's status,
/// from the browser's Network events until the browser goes.
async fn watch_network(
    mut events: mpsc::UnboundedReceiver<CdpEvent>,
    cdp: Arc<Cdp>,
    watch: Watch,
    record: Arc<Mutex<Record>>,
) {
    while let Some(event) = events.recv().await {
        let params = &event.params;
        let request_id = params
            .get("requestId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match event.method.as_str() {
            "Network.requestWillBeSent" => {
                let Some(capture) =
                    capture_request(&cdp, event.session.as_deref(), &watch, params).await
                else {
                    continue;
                };
                let mut record = lock(&record);
                let index = record.captures.len();
                record.captures.push(capture);
                record.by_request.insert(request_id, index);
            }
            "Network.responseReceived" => {
                let status = params
                    .pointer("/response/status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(0);
                let mut record = lock(&record);
                if params.get("type").and_then(Value::as_str) == Some("Document") {
                    let url = params
                        .pointer("/response/url")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    record.document = Some((url.to_string(), status));
                }
                if let Some(&i) = record.by_request.get(&request_id) {
                    record.captures[i].answer = HostAnswer::Status(status);
                }
            }
            // The status as the network saw it, also for a request whose response the page
            // may not read (a CORS refusal): the host still answered, and took the events.
            "Network.responseReceivedExtraInfo" => {
                let status = params
                    .get("statusCode")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok());
                let mut record = lock(&record);
                if let (Some(status), Some(&i)) = (status, record.by_request.get(&request_id)) {
                    let capture = &mut record.captures[i];
                    if !matches!(capture.answer, HostAnswer::Status(_)) {
                        capture.answer = HostAnswer::Status(status);
                    }
                }
            }
            "Network.loadingFailed" => {
                let mut record = lock(&record);
                if let Some(&i) = record.by_request.get(&request_id) {
                    let capture = &mut record.captures[i];
                    // A response already seen stands (a CORS refusal after the host took it).
                    if capture.answer == HostAnswer::Waiting {
                        let why = params
                            .get("errorText")
                            .and_then(Value::as_str)
                            .unwrap_or("failed");
                        let why = match params.pointer("/corsErrorStatus/corsError") {
                            Some(Value::String(cors)) => format!("{why}, CORS: {cors}"),
                            _ => why.to_string(),
                        };
                        capture.answer = HostAnswer::Unreachable(why);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The capture request in a `Network.requestWillBeSent`, when it is one this run counts.
async fn capture_request(
    cdp: &Cdp,
    session: Option<&str>,
    watch: &Watch,
    params: &Value,
) -> Option<CaptureRequest> {
    let request = params.get("request")?;
    if request.get("method").and_then(Value::as_str) != Some("POST") {
        return None;
    }
    let url = reqwest::Url::parse(request.get("url")?.as_str()?).ok()?;
    if !watch.counts(&url) {
        return None;
    }
    let mut body = post_data_entries(request);
    if body.is_empty() && request.get("hasPostData").and_then(Value::as_bool) == Some(true) {
        let request_id = params.get("requestId").cloned().unwrap_or(Value::Null);
        let asked = cdp
            .call(
                session,
                "Network.getRequestPostData",
                json!({"requestId": request_id}),
            )
            .await;
        if let Ok(data) = asked {
            body = post_data(&data);
        }
    }
    let headers = header_map(request.get("headers"));
    let events = events_in(&watch.rules, &headers, url.query(), &body);
    let mut shown = url.clone();
    shown.set_query(None);
    Some(CaptureRequest {
        url: shown.to_string(),
        events,
        answer: HostAnswer::Waiting,
    })
}

/// The request body from `postDataEntries` (each entry's `bytes` is base64).
fn post_data_entries(request: &Value) -> Vec<u8> {
    let engine = base64::engine::general_purpose::STANDARD;
    request
        .get("postDataEntries")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e.get("bytes").and_then(Value::as_str))
                .filter_map(|b| engine.decode(b).ok())
                .flatten()
                .collect()
        })
        .unwrap_or_default()
}

/// The body from `Network.getRequestPostData`'s answer.
fn post_data(answer: &Value) -> Vec<u8> {
    let text = answer
        .get("postData")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if answer.get("base64Encoded").and_then(Value::as_bool) == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    }
}

fn header_map(headers: Option<&Value>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers.and_then(Value::as_object).into_iter().flatten() {
        let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) else {
            continue;
        };
        map.insert(name, value);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn the_browser_is_found_on_path_or_named_by_the_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = Some(dir.path().as_os_str().to_owned());
        assert!(matches!(
            find(None, path.clone()),
            Err(BrowserError::NotFound(_))
        ));
        // Not executable: not a browser.
        std::fs::write(dir.path().join("chromium"), "").unwrap();
        assert!(find(None, path.clone()).is_err());
        let chrome = executable(dir.path(), "google-chrome");
        assert_eq!(find(None, path.clone()).unwrap(), chrome);
        let mine = executable(dir.path(), "my-chrome");
        assert_eq!(find(Some("my-chrome".into()), path.clone()).unwrap(), mine);
        assert_eq!(
            find(Some(mine.clone().into_os_string()), None).unwrap(),
            mine
        );
        let off = find(Some("none".into()), path.clone()).unwrap_err();
        assert_eq!(off.to_string(), "WIZARD_BROWSER is \"none\"");
        assert!(find(Some("absent-browser".into()), path).is_err());
    }

    #[test]
    fn the_page_sees_the_browser_a_person_would_use() {
        let version = json!({
            "product": "HeadlessChrome/156.0.8078.114",
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
        });
        let over = user_agent_override(&version);
        assert_eq!(
            over["userAgent"],
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
        );
        assert_eq!(over["userAgentMetadata"]["brands"][0]["version"], "156");
        assert_eq!(over["userAgentMetadata"]["fullVersion"], "156.0.8078.114");
    }

    #[test]
    fn only_capture_paths_on_the_runs_host_or_the_apps_origin_count() {
        let watch = Watch {
            rules: RelayRules {
                capture_paths: vec!["/e/".into(), "/i/v0/e/".into()],
                batch: "/batch".into(),
                event: "/event".into(),
                distinct_id: vec![],
            },
            origins: vec![
                reqwest::Url::parse("https://us.i.posthog.com").unwrap(),
                reqwest::Url::parse("http://127.0.0.1:4000").unwrap(),
            ],
        };
        let counts = |u: &str| watch.counts(&reqwest::Url::parse(u).unwrap());
        assert!(counts("https://us.i.posthog.com/e/?compression=gzip-js"));
        assert!(counts("https://us.i.posthog.com/i/v0/e/"));
        assert!(counts("http://127.0.0.1:4000/ingest/e/"));
        assert!(!counts("http://127.0.0.1:4000/ingest/flags/?v=2"));
        assert!(!counts("https://eu.i.posthog.com/e/"));
        assert!(!counts("http://127.0.0.1:4001/e/"));
    }

    #[test]
    fn a_body_comes_from_its_entries_or_the_post_data_answer() {
        let request = json!({"postDataEntries": [{"bytes": "aGVs"}, {"bytes": "bG8="}]});
        assert_eq!(post_data_entries(&request), b"hello");
        assert_eq!(
            post_data(&json!({"postData": "aGk=", "base64Encoded": true})),
            b"hi"
        );
        assert_eq!(post_data(&json!({"postData": "data=x"})), b"data=x");
        let headers = header_map(Some(&json!({"Content-Encoding": "gzip", "bad\n": "x"})));
        assert_eq!(headers.get("content-encoding").unwrap(), "gzip");
        assert_eq!(headers.len(), 1);
    }
}
