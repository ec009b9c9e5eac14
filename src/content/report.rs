//! `wizard content check`: a plain-text listing of what a content tree holds.

use std::fmt::Write as _;

use super::set::ContentSet;

/// What the content holds: seed, agents in graph order, skills, frameworks,
/// package managers, other data files, and the content hash.
pub fn check_report(set: &ContentSet) -> String {
    let mut out = String::new();
    let non_seed = set.agents.len().saturating_sub(1);
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        out,
        "Content OK: {} agents (+ seed), {} skills, {} framework rules, {} package managers",
        non_seed,
        set.skills.len(),
        set.frameworks.frameworks.len(),
        set.package_managers.len()
    );
    let _ = writeln!(out, "hash {}", set.content_hash());

    let seed = set.seed();
    let _ = writeln!(out, "\nSeed:");
    let _ = writeln!(
        out,
        "  {:<16} {:<8} {}",
        seed.task_type, seed.model, seed.label
    );

    let _ = writeln!(out, "\nAgents (default graph order):");
    for a in set.graph_order() {
        let after = if a.depends_on.is_empty() {
            "-".to_string()
        } else {
            a.depends_on.join(", ")
        };
        let _ = writeln!(
            out,
            "  {:<16} {:<8} {:<40} after: {}",
            a.task_type, a.model, a.label, after
        );
        if !a.skills.is_empty() {
            let _ = writeln!(out, "  {:<16} skills: {}", "", a.skills.join(", "));
        }
    }

    let _ = writeln!(out, "\nSkills:");
    for s in set.skills.values() {
        let scope = match &s.frameworks {
            Some(list) => list.join(", "),
            None => "all frameworks".to_string(),
        };
        let _ = writeln!(out, "  {:<28} [{}] {}", s.name, scope, s.description);
    }

    let _ = writeln!(out, "\nFrameworks (detection order):");
    for f in &set.frameworks.frameworks {
        let example = match f.example.as_deref() {
            Some(e) if set.example(&f.id).is_some() => e.to_string(),
            Some(e) => format!("{e} (missing)"),
            None => "-".to_string(),
        };
        let router = f
            .router
            .as_deref()
            .map(|r| format!(" ({r} router)"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<20} {}{}  example: {}",
            f.id, f.name, router, example
        );
    }

    let pms: Vec<String> = set
        .package_managers
        .iter()
        .map(|p| {
            if p.default {
                format!("{} (default)", p.name)
            } else {
                p.name.clone()
            }
        })
        .collect();
    let _ = writeln!(out, "\nPackage managers: {}", pms.join(", "));
    let _ = writeln!(
        out,
        "models.yaml: {}",
        if set.models_yaml.is_empty() {
            "absent".to_string()
        } else {
            format!("{} bytes", set.models_yaml.len())
        }
    );

    let data: Vec<&str> = set
        .files
        .keys()
        .map(String::as_str)
        .filter(|p| !p.starts_with("agents/") && !p.starts_with("skills/"))
        .collect();
    let _ = writeln!(out, "\nOther files ({}):", data.len());
    for p in data {
        let _ = writeln!(out, "  {p}");
    }
    out
}
