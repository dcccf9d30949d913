//! CMS activities: reserve the record, move it through its states, store health results.
//!
//! Each is a thin, idempotent wrapper over [`crate::cms`]; the orchestration id recorded
//! with every state change comes from the activity context, not from the input.

pub mod begin_delete;
pub mod mark_deleted;
pub mod mark_deleting;
pub mod mark_failed;
pub mod mark_running;
pub mod record_health;
pub mod reserve_instance;

use crate::activity_types::TransitionOutcome;
use crate::cms::instances::Transition;

impl From<Transition> for TransitionOutcome {
    fn from(transition: Transition) -> Self {
        match transition {
            Transition::Applied { from } => Self::Applied { from },
            Transition::AlreadyThere => Self::AlreadyThere,
            Transition::NotAllowed { current } => Self::NotAllowed { current },
        }
    }
}
