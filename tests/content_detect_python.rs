//! Python web apps (`ecosystem: python` rules), and Android (`ecosystem: gradle`): the
//! framework, where its version was read, and the package manager, as
//! `wizard detect --json` reports them for the fixtures in `tests/data/apps/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use wizard::content::{detect, load_blocking, ContentSource};

fn app(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/apps")
        .join(name)
}

/// The one app `wizard detect --json` finds in `dir`.
fn detected(dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .args(["detect", "--json"])
        .arg(dir)
        .output()
        .expect("wizard runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let apps = doc["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), 1, "{doc:#}");
    apps[0].clone()
}

#[test]
fn fastapi_flask_and_django_are_each_recognised_with_their_package_manager() {
    // (fixture, id, declared version, package manager)
    let cases = [
        ("fastapi-uv", "python-fastapi", ">=0.115", "uv"),
        ("flask-pip", "python-flask", "==3.1.0", "pip"),
        // Poetry's table, Django's capital D, and manage.py in a subfolder.
        ("django-subfolder", "python-django", "^5.1", "poetry"),
    ];
    for (fixture, id, version, pm) in cases {
        let found = detected(&app(fixture));
        assert_eq!(found["framework"]["id"], id, "{fixture}: {found:#}");
        assert_eq!(found["framework"]["version"], version, "{fixture}");
        assert_eq!(
            found["framework"]["versionSource"], "the project's manifest (declared)",
            "{fixture}"
        );
        assert_eq!(found["packageManager"]["name"], pm, "{fixture}");
        assert_eq!(found["language"], "python", "{fixture}");
    }
}

#[test]
fn a_fastapi_app_is_not_flask_and_a_flask_app_is_not_fastapi() {
    let rules = load_blocking(&ContentSource::Embedded).unwrap().frameworks;
    let fastapi = detect(&app("fastapi-uv"), &rules).framework.unwrap();
    let flask = detect(&app("flask-pip"), &rules).framework.unwrap();
    assert_eq!(
        (fastapi.id.as_str(), flask.id.as_str()),
        ("python-fastapi", "python-flask")
    );
    assert!(fastapi.example.as_deref() == Some("python-fastapi"));
    assert!(flask.example.as_deref() == Some("python-flask"));
}

#[test]
fn an_android_project_is_a_kotlin_gradle_app() {
    let out = Command::new(env!("CARGO_BIN_EXE_wizard"))
        .args(["detect", "--json"])
        .arg(app("android-kotlin"))
        .output()
        .expect("wizard runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let root = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == ".")
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(root["framework"]["id"], "android");
    assert_eq!(root["language"], "kotlin");
    assert_eq!(root["packageManager"]["name"], "gradle");
}
