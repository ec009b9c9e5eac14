//! The queue's rules as plain data and pure functions: guards, readiness,
//! retries, failure propagation and the verdict.
//!
//! [`QueueState`] owns every task of a run. It never does I/O and never
//! awaits: the [`QueueActor`](crate::actors::queue::QueueActor) is a thin
//! shell that owns one, feeds it messages and broadcasts the events it
//! returns. Readiness is kept incrementally (a count of unmet dependencies per
//! task and an ordered set of ready tasks), so no transition scans the queue.

mod canonical;
mod guards;
mod integrity;
mod journal;
mod state;

pub use canonical::canonical_json;
pub use guards::{closest, GuardError, QueryError, QueueLimits};
pub use integrity::{dependency_order, IntegrityError};
pub use journal::Mirror;
pub use state::{Catalogue, Halt, ModelNames, QueueState, TaskTypeInfo};
