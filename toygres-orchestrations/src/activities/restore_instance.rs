//! Restores a reserved instance from a backup and proves it usable: provision-instance's
//! step (fenced by the CMS record being `creating`, bounded by the readiness timeout), with
//! the platform restoring the backup, replaying WAL to the requested moment when there is
//! one, instead of starting an empty server. The restored server gets the new instance's
//! own password, never the source's.

use std::sync::Arc;

use duroxide::ActivityContext;

use super::provision_instance::{Request, provision};
use crate::Dependencies;
use crate::activity_types::{ProvisionOutcome, RestoreInstanceInput};
use crate::names;

pub const NAME: &str = names::activities::RESTORE_INSTANCE;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: RestoreInstanceInput,
) -> Result<ProvisionOutcome, String> {
    let request = Request {
        record_id: input.record_id,
        spec: &input.spec,
        readiness_timeout_secs: input.readiness_timeout_secs,
        restore: Some(&input.restore),
    };
    provision(&deps, &ctx, request).await
}
