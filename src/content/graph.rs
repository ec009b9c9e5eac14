//! The default graph of task types (`dependsOn` in agent frontmatter):
//! cycle detection for validation, and a topological order for the linear
//! runner and for listings.
//!
//! Both work on plain `type → dependsOn types` maps so they are tested
//! without any content around them.

use std::collections::{BTreeMap, BTreeSet};

/// Types in an order where every type comes after its dependencies; ties
/// broken by name. Types in a cycle (or after one) are left out.
pub fn topological_order<'a>(deps: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<&'a str> {
    let mut unmet: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (&node, ds) in deps {
        let known: BTreeSet<&str> = ds
            .iter()
            .copied()
            .filter(|d| deps.contains_key(d))
            .collect();
        unmet.insert(node, known.len());
        for d in known {
            dependents.entry(d).or_default().push(node);
        }
    }
    let mut ready: BTreeSet<&str> = unmet
        .iter()
        .filter(|(_, &n)| n == 0)
        .map(|(&k, _)| k)
        .collect();
    let mut order = Vec::with_capacity(deps.len());
    while let Some(node) = ready.pop_first() {
        order.push(node);
        for &next in dependents.get(node).map(Vec::as_slice).unwrap_or_default() {
            if let Some(n) = unmet.get_mut(next) {
                *n -= 1;
                if *n == 0 {
                    ready.insert(next);
                }
            }
        }
    }
    order
}

/// One cycle in the graph, as the path `a → b → a`, if there is any.
/// Dependencies on unknown types are ignored (reported elsewhere).
pub fn find_cycle<'a>(deps: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        deps: &BTreeMap<&'a str, Vec<&'a str>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        marks.insert(node, Mark::OnPath);
        path.push(node);
        for &d in deps.get(node).map(Vec::as_slice).unwrap_or_default() {
            match marks.get(d).copied() {
                Some(Mark::OnPath) => {
                    let start = path.iter().position(|&p| p == d).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(d);
                    return Some(cycle);
                }
                Some(Mark::New) => {
                    if let Some(c) = visit(d, deps, marks, path) {
                        return Some(c);
                    }
                }
                Some(Mark::Done) | None => {}
            }
        }
        path.pop();
        marks.insert(node, Mark::Done);
        None
    }

    let mut marks: BTreeMap<&str, Mark> = deps.keys().map(|&k| (k, Mark::New)).collect();
    for &node in deps.keys() {
        if marks.get(node) == Some(&Mark::New) {
            if let Some(c) = visit(node, deps, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph<'a>(edges: &[(&'a str, &[&'a str])]) -> BTreeMap<&'a str, Vec<&'a str>> {
        edges.iter().map(|(k, v)| (*k, v.to_vec())).collect()
    }

    #[test]
    fn order_puts_dependencies_first_and_breaks_ties_by_name() {
        let g = graph(&[
            ("report", &["build"]),
            ("build", &["install", "init"]),
            ("init", &[]),
            ("install", &[]),
            ("identify", &["install", "init"]),
        ]);
        assert_eq!(
            topological_order(&g),
            vec!["init", "install", "build", "identify", "report"]
        );
    }

    #[test]
    fn a_cycle_is_found_and_named_as_a_path() {
        let g = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]);
        assert_eq!(find_cycle(&g), Some(vec!["a", "b", "c", "a"]));
    }

    #[test]
    fn a_self_dependency_is_a_cycle() {
        let g = graph(&[("a", &["a"])]);
        assert_eq!(find_cycle(&g), Some(vec!["a", "a"]));
    }

    #[test]
    fn a_diamond_is_not_a_cycle() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])]);
        assert_eq!(find_cycle(&g), None);
        assert_eq!(topological_order(&g), vec!["a", "b", "c", "d"]);
    }
}
