//! Which instance an operation acts on, and which operations act on an instance.
//!
//! Operation ids carry their subject (`names::instance_ids`): a CMS record, a name, or a
//! backup. Records and backups are turned into instance names with one query each per
//! page; an instance name into the id patterns of every operation of every record that
//! had the name.

use std::collections::HashMap;

use sqlx::PgPool;
use toygres_cms::backups;
use toygres_cms::instances::{self, CmsError};
use toygres_orchestrations::names::instance_ids::{self, Subject, subject_of};
use uuid::Uuid;

use super::store;

/// The instance names of the operations `ids` (`None` for those without one).
pub async fn instance_names(pool: &PgPool, ids: &[&str]) -> Result<Vec<Option<String>>, CmsError> {
    let subjects: Vec<Subject> = ids.iter().map(|id| subject_of(id)).collect();
    let records: Vec<Uuid> = subjects
        .iter()
        .filter_map(|s| match s {
            Subject::Record(id) => Some(*id),
            _ => None,
        })
        .collect();
    let backups: Vec<Uuid> = subjects
        .iter()
        .filter_map(|s| match s {
            Subject::Backup(id) => Some(*id),
            _ => None,
        })
        .collect();
    let record_names: HashMap<Uuid, String> = instances::names_of(pool, &records)
        .await?
        .into_iter()
        .collect();
    let backup_names: HashMap<Uuid, String> = backups::instance_names_of(pool, &backups)
        .await?
        .into_iter()
        .collect();
    Ok(subjects
        .into_iter()
        .map(|subject| match subject {
            Subject::Record(id) => record_names.get(&id).cloned(),
            Subject::Backup(id) => backup_names.get(&id).cloned(),
            Subject::Name(name) => Some(name.to_string()),
            Subject::None => None,
        })
        .collect())
}

/// `LIKE` patterns matching the ids of every operation on an instance named `name`, now
/// or before; empty when no instance ever had the name.
pub async fn id_patterns(pool: &PgPool, name: &str) -> Result<Vec<String>, CmsError> {
    let records = instances::all_named(pool, name).await?;
    let record_ids: Vec<Uuid> = records.iter().map(|record| record.id).collect();
    let mut patterns: Vec<String> = records
        .iter()
        .flat_map(|record| {
            [
                store::containing(&record.id.to_string()),
                store::starting_with(&record.create_orchestration_id),
            ]
        })
        .collect();
    patterns.extend(
        backups::ids_of_instances(pool, &record_ids)
            .await?
            .into_iter()
            .map(|backup| store::starting_with(&instance_ids::delete_backup(backup))),
    );
    Ok(patterns)
}
