//! `/api/v1/instances`: one file per operation, plus how a record is shown and how a name
//! comes out of a URL.

pub mod config;
pub mod connection;
pub(crate) mod create;
pub mod delete;
pub mod get;
pub mod history;
pub mod labels;
pub mod list;
pub mod logs;
mod name_path;
pub mod power;
mod restore;
pub mod superuser_access;
pub mod switchover;
pub(crate) mod view;

pub use name_path::NamePath;
