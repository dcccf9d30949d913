//! Builds duroxide's registries: every activity and orchestration Toygres runs.
//!
//! Activities are closures that capture one `Arc<Dependencies>`; orchestrations are
//! registered with explicit versions so that a new version can be added beside a shipped
//! one. `build_result()` turns a registration mistake (a duplicate name@version) into an
//! error instead of a silently missing handler.

use std::sync::Arc;

use std::future::Future;

use duroxide::runtime::registry::ActivityRegistry;
use duroxide::{ActivityContext, OrchestrationContext, OrchestrationRegistry};
use tracing::instrument::Instrumented;
use tracing::{Instrument, Span};

use crate::Dependencies;
use crate::activities::{self, cms};
use crate::log_fields::{self, About, Concerns};
use crate::names::{orchestrations, versions};
use crate::orchestrations::{
    backup_instance, backup_schedule, batch, configure_instance, create_instance,
    create_instance_v1_1_0, create_instance_v1_2_0, delete_backup, delete_instance,
    delete_instance_v1_1_0, failover_instance, failover_instance_v1_1_0, history_pruner,
    instance_actor, instance_actor_v1_1_0, instance_actor_v1_2_0, restart_instance,
    set_superuser_access, start_instance, stop_instance, switchover_instance, warm_pool,
};

/// Registers `$module::run` under `$module::NAME`, handing it the shared dependencies and
/// running it inside a span with its instance and orchestration id (`log_fields`).
/// `record` marks an activity whose input is a record id, `fleet` one about no one instance.
macro_rules! with_deps {
    ($builder:expr, $deps:expr, $module:path) => {
        with_deps!(@register $builder, $deps, $module, |input| About::concerns(input))
    };
    ($builder:expr, $deps:expr, $module:path, record) => {
        with_deps!(@register $builder, $deps, $module, |id: &uuid::Uuid| Concerns::Record(*id))
    };
    ($builder:expr, $deps:expr, $module:path, fleet) => {
        with_deps!(@register $builder, $deps, $module, |_| Concerns::Fleet)
    };
    (@register $builder:expr, $deps:expr, $module:path, $concerns:expr) => {{
        use $module as activity;
        let deps = Arc::clone(&$deps);
        $builder.register_typed(activity::NAME, move |ctx, input| {
            let deps = Arc::clone(&deps);
            async move {
                let span = activity_span(&deps, &ctx, $concerns(&input)).await;
                activity::run(deps, ctx, input).instrument(span).await
            }
        })
    }};
}

/// The span an activity runs in; an id-only input's name is looked up (and remembered).
async fn activity_span(deps: &Dependencies, ctx: &ActivityContext, concerns: Concerns) -> Span {
    let instance = deps.names.resolve(&deps.cms, &concerns).await;
    log_fields::activity_span(
        ctx.activity_name(),
        ctx.instance_id(),
        &concerns,
        instance.as_ref(),
    )
}

/// `orchestration`, each turn of it inside a span with its instance and orchestration id.
/// The span only labels log lines: it changes nothing the orchestration does or records.
fn traced<In, Out, F, Fut>(
    orchestration: F,
) -> impl Fn(OrchestrationContext, In) -> Instrumented<Fut> + Send + Sync + Clone + 'static
where
    In: About,
    F: Fn(OrchestrationContext, In) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<Out, String>>,
{
    move |ctx, input| {
        let span = log_fields::orchestration_span(&ctx.instance_id(), &input.concerns());
        orchestration(ctx, input).instrument(span)
    }
}

pub fn activity_registry(deps: Arc<Dependencies>) -> Result<ActivityRegistry, String> {
    let builder = ActivityRegistry::builder();
    let builder = with_deps!(builder, deps, activities::deploy_instance);
    let builder = with_deps!(builder, deps, activities::get_instance_status);
    let builder = with_deps!(builder, deps, activities::get_instance_endpoint);
    let builder = with_deps!(builder, deps, activities::test_connection);
    let builder = with_deps!(builder, deps, activities::delete_instance_resources);
    let builder = with_deps!(builder, deps, activities::probe_health);
    let builder = with_deps!(builder, deps, cms::reserve_instance);
    let builder = with_deps!(builder, deps, cms::mark_running);
    let builder = with_deps!(builder, deps, cms::mark_failed);
    let builder = with_deps!(builder, deps, cms::mark_deleting, record);
    let builder = with_deps!(builder, deps, cms::mark_deleted, record);
    let builder = with_deps!(builder, deps, cms::record_health);
    let builder = with_deps!(builder, deps, activities::provision_instance);
    let builder = with_deps!(builder, deps, activities::restore_instance);
    let builder = with_deps!(builder, deps, activities::destroy_instance);
    let builder = with_deps!(builder, deps, activities::check_health);
    let builder = with_deps!(builder, deps, cms::begin_delete);
    let builder = with_deps!(builder, deps, activities::prune_history, fleet);
    let builder = with_deps!(builder, deps, activities::fill_warm_pool, fleet);
    let builder = with_deps!(builder, deps, cms::transition);
    let builder = with_deps!(builder, deps, activities::operate_instance);
    let builder = with_deps!(builder, deps, activities::move_primary);
    let builder = with_deps!(builder, deps, activities::rejoin_standbys);
    let builder = with_deps!(builder, deps, activities::apply_settings);
    let builder = with_deps!(builder, deps, activities::start_batch_children, fleet);
    let builder = with_deps!(builder, deps, activities::watch_instance);
    let builder = with_deps!(builder, deps, activities::take_backup);
    let builder = with_deps!(builder, deps, cms::finish_backup);
    let builder = with_deps!(builder, deps, cms::reserve_backup);
    let builder = with_deps!(builder, deps, activities::expire_backups);
    let builder = with_deps!(builder, deps, activities::remove_backup);
    builder
        .register_typed(activities::batch_progress::NAME, |ctx, input| {
            let span = log_fields::activity_span(
                ctx.activity_name(),
                ctx.instance_id(),
                &Concerns::Fleet,
                None,
            );
            activities::batch_progress::run(ctx, input).instrument(span)
        })
        .register_typed(activities::signal_instance_deleted::NAME, |ctx, input| {
            let concerns = About::concerns(&input);
            let span =
                log_fields::activity_span(ctx.activity_name(), ctx.instance_id(), &concerns, None);
            activities::signal_instance_deleted::run(ctx, input).instrument(span)
        })
        .build_result()
}

pub fn orchestration_registry() -> Result<OrchestrationRegistry, String> {
    OrchestrationRegistry::builder()
        .register_versioned_typed(
            orchestrations::CREATE_INSTANCE,
            versions::V1_0_0,
            traced(create_instance::create_instance),
        )
        .register_versioned_typed(
            orchestrations::CREATE_INSTANCE,
            versions::V1_1_0,
            traced(create_instance_v1_1_0::create_instance),
        )
        .register_versioned_typed(
            orchestrations::CREATE_INSTANCE,
            versions::V1_2_0,
            traced(create_instance_v1_2_0::create_instance),
        )
        .register_versioned_typed(
            orchestrations::DELETE_INSTANCE,
            versions::V1_0_0,
            traced(delete_instance::delete_instance),
        )
        .register_versioned_typed(
            orchestrations::DELETE_INSTANCE,
            versions::V1_1_0,
            traced(delete_instance_v1_1_0::delete_instance),
        )
        .register_versioned_typed(
            orchestrations::INSTANCE_ACTOR,
            versions::V1_0_0,
            traced(instance_actor::instance_actor),
        )
        .register_versioned_typed(
            orchestrations::INSTANCE_ACTOR,
            versions::V1_1_0,
            traced(instance_actor_v1_1_0::instance_actor),
        )
        .register_versioned_typed(
            orchestrations::INSTANCE_ACTOR,
            versions::V1_2_0,
            traced(instance_actor_v1_2_0::instance_actor),
        )
        .register_versioned_typed(
            orchestrations::HISTORY_PRUNER,
            versions::V1_0_0,
            traced(history_pruner::history_pruner),
        )
        .register_versioned_typed(
            orchestrations::WARM_POOL,
            versions::V1_0_0,
            traced(warm_pool::warm_pool),
        )
        .register_versioned_typed(
            orchestrations::STOP_INSTANCE,
            versions::V1_0_0,
            traced(stop_instance::stop_instance),
        )
        .register_versioned_typed(
            orchestrations::START_INSTANCE,
            versions::V1_0_0,
            traced(start_instance::start_instance),
        )
        .register_versioned_typed(
            orchestrations::RESTART_INSTANCE,
            versions::V1_0_0,
            traced(restart_instance::restart_instance),
        )
        .register_versioned_typed(
            orchestrations::BACKUP_INSTANCE,
            versions::V1_0_0,
            traced(backup_instance::backup_instance),
        )
        .register_versioned_typed(
            orchestrations::BACKUP_SCHEDULE,
            versions::V1_0_0,
            traced(backup_schedule::backup_schedule),
        )
        .register_versioned_typed(
            orchestrations::DELETE_BACKUP,
            versions::V1_0_0,
            traced(delete_backup::delete_backup),
        )
        .register_versioned_typed(
            orchestrations::SET_SUPERUSER_ACCESS,
            versions::V1_0_0,
            traced(set_superuser_access::set_superuser_access),
        )
        .register_versioned_typed(
            orchestrations::SWITCHOVER_INSTANCE,
            versions::V1_0_0,
            traced(switchover_instance::switchover_instance),
        )
        .register_versioned_typed(
            orchestrations::FAILOVER_INSTANCE,
            versions::V1_0_0,
            traced(failover_instance::failover_instance),
        )
        .register_versioned_typed(
            orchestrations::FAILOVER_INSTANCE,
            versions::V1_1_0,
            traced(failover_instance_v1_1_0::failover_instance),
        )
        .register_versioned_typed(
            orchestrations::CONFIGURE_INSTANCE,
            versions::V1_0_0,
            traced(configure_instance::configure_instance),
        )
        .register_versioned_typed(
            orchestrations::BATCH,
            versions::V1_0_0,
            traced(batch::batch),
        )
        .build_result()
}
