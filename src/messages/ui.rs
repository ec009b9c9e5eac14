//! Messages only the UI actor takes (it also takes `QueueEvent`s, `AskUser` and `Flush`).

use actix::prelude::*;

use super::Interrupt;
use crate::ui::view::RunView;

/// Tell the UI where `q` / Ctrl-C should go.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetInterrupt(pub Recipient<Interrupt>);

/// Ask for the view (after the run).
#[derive(Message)]
#[rtype(result = "RunView")]
pub struct TakeView;
