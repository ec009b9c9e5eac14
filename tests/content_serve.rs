//! `content serve` + `--content URL`: what a served directory loads as is
//! exactly what the directory holds.

use std::net::SocketAddr;

use wizard::content::{export_embedded, load, ContentSource};

async fn start(source: ContentSource) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let handle = tokio::spawn(async move {
        if let Err(e) = wizard::content::serve(&source, 0, tx).await {
            panic!("server failed: {e}");
        }
    });
    (rx.await.unwrap(), handle)
}

#[tokio::test]
async fn a_served_directory_loads_exactly_what_the_directory_holds() {
    let dir = tempfile::tempdir().unwrap();
    export_embedded(dir.path()).unwrap();
    // A nested data file the menus must carry too.
    std::fs::create_dir_all(dir.path().join("cassettes")).unwrap();
    std::fs::write(dir.path().join("cassettes/demo.yaml"), "turns: []\n").unwrap();
    let source = ContentSource::Dir(dir.path().to_path_buf());

    let (addr, server) = start(source.clone()).await;
    let url = format!("http://{addr}");
    let served = load(&ContentSource::parse(Some(&url))).await.unwrap();
    let direct = load(&source).await.unwrap();
    server.abort();

    assert_eq!(served.files, direct.files);
    assert_eq!(served.content_hash(), direct.content_hash());
    assert_eq!(served.cassette("demo"), Some("turns: []\n"));
    assert_eq!(served.agents, direct.agents);
}

#[tokio::test]
async fn the_menus_follow_the_documented_shape() {
    let (addr, server) = start(ContentSource::Embedded).await;
    let client = reqwest::Client::new();
    let menu: serde_json::Value = client
        .get(format!("http://{addr}/agent-menu.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(menu["version"], "1.0");
    let install = menu["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "install")
        .unwrap();
    assert_eq!(install["downloadUrl"], "agents/install.md");

    let skills: serde_json::Value = client
        .get(format!("http://{addr}/skill-menu.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(skills["skills"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["id"] == "env-values"));

    let rules = client
        .get(format!("http://{addr}/data/frameworks.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(rules.status(), 200);
    assert!(rules.text().await.unwrap().contains("packageManagers:"));
    server.abort();
}

#[tokio::test]
async fn paths_outside_the_content_are_not_served() {
    let dir = tempfile::tempdir().unwrap();
    export_embedded(dir.path()).unwrap();
    std::fs::write(dir.path().join(".secret"), "nope").unwrap();
    let (addr, server) = start(ContentSource::Dir(dir.path().to_path_buf())).await;
    let client = reqwest::Client::new();
    for path in [
        "/data/.secret",
        "/data/%2e%2e/Cargo.toml",
        "/agents/..%2Fframeworks.yaml",
    ] {
        let status = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{path}");
    }
    server.abort();
}

#[tokio::test]
async fn a_server_that_is_down_is_a_clear_error() {
    // Bind and drop to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let errors = load(&ContentSource::Url(url.clone())).await.unwrap_err();
    let text = errors.to_string();
    assert!(
        text.contains(&format!("{url}/agent-menu.json: request failed")),
        "{text}"
    );
}
