//! Operations: every orchestration Toygres runs, as an operator sees it.
//!
//! A create, a delete, a health watch, a backup, the history pruner: each is a duroxide
//! orchestration with a full history. This module lists them (`store`: one query over the
//! store's tables, paginated, filtered by instance, status and kind), names what each is
//! (`kind`) and what it acts on (`subject`), shows one as a typed timeline of its history
//! (`timeline`), and decides which may be cancelled or retried and how (`policy`).

pub mod kind;
pub mod policy;
pub mod store;
pub mod subject;
pub mod timeline;
