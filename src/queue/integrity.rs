//! Checks a saved queue before a resume trusts it: one id per task, known
//! dependencies, no cycle, and every task after its dependencies.
//!
//! Resume refuses a queue it cannot make sense of (a duplicate id, a
//! dependency on nothing, a cycle) with a message naming the task, and
//! repairs one whose order is merely wrong (a hand-edited or reordered file)
//! by putting dependencies first, saying so. The queue's readiness counts rely
//! on that order, so a task never runs before what it depends on.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};

use crate::messages::Task;

/// Why a saved queue cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityError {
    /// Two tasks share an id.
    #[error("task id \"{0}\" appears more than once")]
    DuplicateId(String),
    /// A task depends on an id no task has.
    #[error("task \"{task}\" depends on \"{dependency}\", which is not in the queue")]
    UnknownDependency {
        /// The task.
        task: String,
        /// The missing id.
        dependency: String,
    },
    /// Dependencies loop.
    #[error("tasks {0} depend on each other in a cycle")]
    Cycle(String),
}

/// Checks `tasks` and reorders them so every task comes after its dependencies
/// (the given order kept where it already holds). Returns whether the order
/// changed; on an error the tasks are left as they were.
pub fn dependency_order<T: Borrow<Task>>(tasks: &mut Vec<T>) -> Result<bool, IntegrityError> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(tasks.len());
    for (i, t) in tasks.iter().map(Borrow::borrow).enumerate() {
        if index.insert(t.id.as_str(), i).is_some() {
            return Err(IntegrityError::DuplicateId(t.id.clone()));
        }
    }
    let mut unmet = vec![0usize; tasks.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    for (i, t) in tasks.iter().map(Borrow::borrow).enumerate() {
        let mut seen = BTreeSet::new();
        for dep in &t.depends_on {
            let Some(&d) = index.get(dep.as_str()) else {
                return Err(IntegrityError::UnknownDependency {
                    task: t.id.clone(),
                    dependency: dep.clone(),
                });
            };
            if seen.insert(d) {
                unmet[i] += 1;
                dependents[d].push(i);
            }
        }
    }
    // Kahn's algorithm, always taking the earliest ready task: a stable order.
    let mut ready: BTreeSet<usize> = (0..tasks.len()).filter(|&i| unmet[i] == 0).collect();
    let mut order = Vec::with_capacity(tasks.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &dependents[i] {
            unmet[d] -= 1;
            if unmet[d] == 0 {
                ready.insert(d);
            }
        }
    }
    if order.len() < tasks.len() {
        let stuck: Vec<String> = (0..tasks.len())
            .filter(|&i| unmet[i] > 0)
            .map(|i| tasks[i].borrow().id.clone())
            .take(5)
            .collect();
        return Err(IntegrityError::Cycle(stuck.join(", ")));
    }
    let changed = order.iter().enumerate().any(|(pos, &i)| pos != i);
    if changed {
        let mut slots: Vec<Option<T>> = std::mem::take(tasks).into_iter().map(Some).collect();
        *tasks = order.into_iter().filter_map(|i| slots[i].take()).collect();
    }
    Ok(changed)
}
