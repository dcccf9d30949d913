//! Replication lag per member of every running instance with standbys, asked of the
//! platform at each scrape and written straight into the response (never kept in the
//! recorder): a member or an instance that is gone has no series at the next scrape,
//! rather than its last value forever. The series are bounded by the members (five at
//! most per instance with standbys; none for one without).
//!
//! ```text
//! toygres_replication_lag_bytes{instance="shop",member="shop-2",role="standby"} 120
//! ```

use std::fmt::Write;

use sqlx::PgPool;
use toygres_cms::instances::{self, CmsError};
use toygres_domain::InstanceName;
use toygres_platform::Platform;

const LAG: &str = "toygres_replication_lag_bytes";

/// The series in the Prometheus text format (empty when no instance has standbys).
pub async fn render(cms: &PgPool, platform: &dyn Platform) -> Result<String, CmsError> {
    let records = instances::running_with_standbys(cms).await?;
    let mut text = String::new();
    for record in records {
        let Ok(name) = InstanceName::parse(record.name.as_str()) else {
            continue;
        };
        let members = match platform.members(&name).await {
            Ok(members) => members,
            Err(error) => {
                tracing::warn!(instance = %name, %error, "replication lag not read");
                continue;
            }
        };
        for member in members {
            let Some(lag) = member.lag_bytes else {
                continue;
            };
            let _ = writeln!(
                text,
                "{LAG}{{instance=\"{name}\",member=\"{}\",role=\"{}\"}} {lag}",
                member.name, member.role
            );
        }
    }
    if text.is_empty() {
        return Ok(text);
    }
    Ok(format!(
        "# HELP {LAG} WAL a member of an instance with standbys has yet to replay, in bytes\n\
         # TYPE {LAG} gauge\n{text}"
    ))
}
