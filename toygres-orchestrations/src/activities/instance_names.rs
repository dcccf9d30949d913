//! Instance names for log fields, when an activity's input has only a record or a backup
//! id (see `crate::log_fields`). A record's name never changes, so a name read once is
//! kept; the memory is bounded by forgetting everything past a few thousand records.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::PgPool;
use uuid::Uuid;

use super::cms::store::{backups, instances};
use crate::domain::InstanceName;
use crate::log_fields::Concerns;

const MAX_REMEMBERED: usize = 4096;

#[derive(Default)]
pub struct InstanceNames {
    by_record: Mutex<HashMap<Uuid, InstanceName>>,
}

impl InstanceNames {
    /// The name of the instance `concerns` is about; `None` for the fleet, or when the CMS
    /// does not know the id (logging goes on without it).
    pub async fn resolve(&self, cms: &PgPool, concerns: &Concerns) -> Option<InstanceName> {
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
