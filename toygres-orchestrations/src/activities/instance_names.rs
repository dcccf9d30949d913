//! Instance names for log fields, when an activity's input has only a record or a backup
//! id (see `crate::log_fields`). A record's name never changes, so a name read once is
//! kept; the memory is bounded by forgetting everything past a few thousand records. A
//! lookup never fails an activity and never holds it up for long: a slow or failing CMS
//! only costs the line its name.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::InstanceName;
use crate::log_fields::Concerns;
use toygres_cms::{backups, instances};

const MAX_REMEMBERED: usize = 4096;
/// The longest a lookup may delay the activity it labels.
const LOOKUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Default)]
pub struct InstanceNames {
    by_record: Mutex<HashMap<Uuid, InstanceName>>,
}

impl InstanceNames {
    /// The name of the instance `concerns` is about; `None` for the fleet, or when the CMS
    /// does not know the id (logging goes on without it).
    pub async fn resolve(&self, cms: &PgPool, concerns: &Concerns) -> Option<InstanceName> {
        let lookup = self.look_up(cms, concerns);
        tokio::time::timeout(LOOKUP_LIMIT, lookup)
            .await
            .ok()
            .flatten()
    }

    async fn look_up(&self, cms: &PgPool, concerns: &Concerns) -> Option<InstanceName> {
        match concerns {
            Concerns::Instance(name) => Some(name.clone()),
            Concerns::Record(id) => self.of_record(cms, *id).await,
            Concerns::Backup(id) => {
                let found = backups::instance_names_of(cms, &[*id]).await.ok()?;
                found
                    .into_iter()
                    .find_map(|(_, name)| InstanceName::parse(&name).ok())
            }
            Concerns::Fleet => None,
        }
    }

    async fn of_record(&self, cms: &PgPool, id: Uuid) -> Option<InstanceName> {
        if let Some(name) = self.remembered().get(&id) {
            return Some(name.clone());
        }
        let found = instances::names_of(cms, &[id]).await.ok()?;
        let name = found
            .into_iter()
            .find_map(|(_, name)| InstanceName::parse(&name).ok())?;
        let mut remembered = self.remembered();
        if remembered.len() >= MAX_REMEMBERED {
            remembered.clear();
        }
        remembered.insert(id, name.clone());
        Some(name)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, InstanceName>> {
        self.by_record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use toygres_test_support::TestDatabase;
    use toygres_test_support::control_plane::spec;

    use super::*;
    use toygres_cms as cms;

    #[tokio::test]
    async fn ids_resolve_to_their_instance_and_unknown_ids_to_nothing() {
        let db = TestDatabase::create().await;
        cms::migrate(&db.pool).await.unwrap();
        let record = cms::instances::reserve(&db.pool, &spec("named"), "local", "create-named")
            .await
            .unwrap();
        let backup = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO toygres_cms.backups
                 (id, instance_id, instance_name, stanza, state, scheduled, orchestration_id)
             VALUES ($1, $2, 'named', 'named-x', 'running', false, 'backup-x')",
        )
        .bind(backup)
        .bind(record)
        .execute(&db.pool)
        .await
        .unwrap();
        let names = InstanceNames::default();
        let named = Some(InstanceName::parse("named").unwrap());
        assert_eq!(
            names.resolve(&db.pool, &Concerns::Record(record)).await,
            named
        );
        assert_eq!(
            names.resolve(&db.pool, &Concerns::Backup(backup)).await,
            named
        );
        let unknown = Concerns::Record(Uuid::new_v4());
        assert_eq!(names.resolve(&db.pool, &unknown).await, None);
        assert_eq!(names.resolve(&db.pool, &Concerns::Fleet).await, None);

        db.pool.close().await;
        assert_eq!(
            names.resolve(&db.pool, &Concerns::Record(record)).await,
            named,
            "a name read once is remembered"
        );
        assert_eq!(
            names.resolve(&db.pool, &unknown).await,
            None,
            "a failed lookup is no name"
        );
    }
}
