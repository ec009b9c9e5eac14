//! Driving a served sample app the way its pages do: form posts without following
//! redirects, the session cookie a sign-in sets, and waiting for the server to answer.

use std::time::{Duration, Instant};

use super::SERVE_LIMIT;

/// What a browser's form post sends.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// A client that hands redirects back (a form post answers 302 with its cookie).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client")
}

/// Waits until `url` answers at all, up to [`SERVE_LIMIT`].
pub async fn wait_until_serving(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let deadline = Instant::now() + SERVE_LIMIT;
    while client.get(url).send().await.is_err() {
        if Instant::now() > deadline {
            return Err(format!(
                "{url} did not answer within {}s",
                SERVE_LIMIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// Posts the url-encoded `body` to `url` with `cookie` (`name=value`) when given.
pub async fn post_form(
    client: &reqwest::Client,
    url: &str,
    body: &str,
    cookie: Option<&str>,
) -> Result<reqwest::Response, String> {
    let mut request = client
        .post(url)
        .header("content-type", FORM)
        .body(body.to_string());
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.map_err(|e| format!("POST {url}: {e}"))
}

/// The cookies `response` sets, as a `Cookie` header sends them back (`a=1; b=2`: a
/// signed session is two cookies); `None` when it sets none.
pub fn set_cookies(response: &reqwest::Response) -> Option<String> {
    let pairs: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect();
    (!pairs.is_empty()).then(|| pairs.join("; "))
}

/// Answers `Ok(())` when `response` has `status`, else an error naming `what`.
pub fn expect_status(what: &str, response: &reqwest::Response, status: u16) -> Result<(), String> {
    if response.status() == status {
        Ok(())
    } else {
        Err(format!(
            "{what} answered {}, not {status}",
            response.status()
        ))
    }
}
