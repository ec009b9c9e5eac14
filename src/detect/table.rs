//! The plain `wizard detect` output: one table of apps, then the projects
//! that are not apps, each with its reason.

use std::fmt::Write;

use super::{AppReport, RepoScan};

/// The scan as a table; `product` names the inventory column.
pub fn scan_table(scan: &RepoScan, product: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", scan.root);
    if scan.monorepo {
        let ws: Vec<String> = scan
            .workspaces
            .iter()
            .map(|w| format!("{} ({})", w.path, w.declared_by.join(", ")))
            .collect();
        let _ = writeln!(
            s,
            "monorepo{}",
            if ws.is_empty() {
                String::new()
            } else {
                format!(": workspace {}", ws.join("; "))
            }
        );
    }
    let _ = writeln!(s);
    if scan.apps.is_empty() {
        let _ = writeln!(s, "No app found.");
    } else {
        let rows: Vec<[String; 5]> = scan
            .apps
            .iter()
            .map(|a| {
                [
                    a.path.clone(),
                    framework_cell(a),
                    a.language.clone(),
                    a.package_manager
                        .as_ref()
                        .map(|p| p.name.clone())
                        .unwrap_or_else(|| "-".into()),
                    a.inventory.summary(),
                ]
            })
            .collect();
        let header = [
            "PATH".to_string(),
            "FRAMEWORK".into(),
            "LANG".into(),
            "PM".into(),
            product.to_uppercase(),
        ];
        let widths: Vec<usize> = (0..4)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in std::iter::once(&header).chain(rows.iter()) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i < 4 {
                    let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
                } else {
                    line.push_str(cell);
                }
            }
            let _ = writeln!(s, "{}", line.trim_end());
        }
        let _ = writeln!(s);
        for a in &scan.apps {
            let _ = writeln!(s, "{}: {}", a.path, a.reason);
            if let Some(pm) = &a.package_manager {
                let _ = writeln!(s, "  package manager: {}", pm.source);
            }
            for alt in &a.alternatives {
                let _ = writeln!(
                    s,
                    "  also matches {} ({}); the first rule wins unless you pick",
                    alt.id, alt.name
                );
            }
        }
    }
    if !scan.others.is_empty() {
        let _ = writeln!(s, "\nNot apps:");
        for o in &scan.others {
            let _ = writeln!(s, "  {} ({}): {}", o.path, o.language, o.reason);
        }
    }
    s
}

fn framework_cell(a: &AppReport) -> String {
    let Some(fw) = &a.framework else {
        return "-".into();
    };
    let mut cell = fw.name.clone();
    if let Some(v) = &fw.version {
        cell.push(' ');
        cell.push_str(v);
    }
    if let Some(r) = &fw.router {
        let _ = write!(cell, " ({r} router)");
    }
    cell
}
