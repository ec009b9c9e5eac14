//! `wizard detect`: the repository scan printed as a table or one JSON document.
//!
//! Exit 0 when at least one app is found, 2 when none (the reasons go to stderr).

use std::path::Path;

use anyhow::{Context, Result};

use crate::content::{self, ContentSource};
use crate::detect;

/// Runs `wizard detect DIR [--json]`; returns the exit code.
pub fn detect_command(dir: &Path, json: bool, content_arg: Option<&str>) -> Result<i32> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let source = ContentSource::parse(content_arg);
    let set = match content::load_blocking(&source) {
        Ok(set) => set,
        Err(errors) => {
            eprintln!("wizard: the content in {source} is not valid:");
            for e in errors.iter() {
                eprintln!("  {e}");
            }
            return Ok(crate::exit::EXIT_USAGE);
        }
    };
    let product = match set.text(content::product::PRODUCT_FILE) {
        Some(text) => content::product::ProductInfo::parse(text)?,
        None => content::product::ProductInfo::default(),
    };
    let scan = detect::scan(dir, &set.frameworks, &product.inventory);
    let key = product_key(&product.name);
    if json {
        let doc = serde_json::to_string_pretty(&scan.to_json(&key))
            .context("cannot write the scan as JSON")?;
        println!("{doc}");
    } else {
        print!("{}", detect::scan_table(&scan, &key));
    }
    if scan.apps.is_empty() {
        eprintln!("wizard: no app found in {}", scan.root);
        for o in &scan.others {
            eprintln!("  {}: {}", o.path, o.reason);
        }
        if scan.others.is_empty() {
            let looked: Vec<String> = set
                .frameworks
                .projects
                .iter()
                .flat_map(|k| k.manifests.clone())
                .collect();
            eprintln!(
                "  no project manifest ({}) anywhere under it",
                looked.join(", ")
            );
        }
        return Ok(crate::exit::EXIT_USAGE);
    }
    Ok(crate::exit::EXIT_OK)
}

/// The key a project's inventory goes under: the product's name in lower case, no spaces.
pub fn product_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}
