//! The metadata store (CMS) and the activities that write it: reserve the record, move it
//! through its states, store health results.
//!
//! The SQL is the `toygres-cms` crate's (the API and reconciliation use it too); each
//! activity here is a thin, idempotent wrapper over it, and the orchestration id recorded
//! with every state change comes from the activity context, not from the input.

pub mod begin_delete;
pub mod finish_backup;
pub mod mark_deleted;
pub mod mark_deleting;
pub mod mark_failed;
pub mod mark_running;
pub mod record_health;
pub mod reserve_backup;
pub mod reserve_instance;
pub mod transition;

use crate::activity_types::TransitionOutcome;
use toygres_cms::instances::Transition;

impl From<Transition> for TransitionOutcome {
    fn from(transition: Transition) -> Self {
        match transition {
            Transition::Applied { from } => Self::Applied { from },
            Transition::AlreadyThere => Self::AlreadyThere,
            Transition::NotAllowed { current } => Self::NotAllowed { current },
        }
    }
}
