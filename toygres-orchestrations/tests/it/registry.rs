//! The registries hold exactly the names in `names.rs`, at their declared versions.

use std::collections::BTreeSet;
use std::sync::Arc;

use toygres_orchestrations::names::{activities, orchestrations, versions};
use toygres_orchestrations::{Dependencies, registry};
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;

fn sorted(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn every_orchestration_is_registered_at_its_version() {
    let registry = registry::orchestration_registry().expect("no registration errors");
    assert_eq!(
        sorted(orchestrations::ALL),
        registry.list_names().into_iter().collect()
    );
    assert_eq!(versions::REGISTERED.len(), orchestrations::ALL.len());
    for (name, declared) in versions::REGISTERED {
        let registered: Vec<String> = registry
            .list_versions(name)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            registered, *declared,
            "{name}: every version stays registered"
        );
        let (latest, _) = registry.resolve_handler(name).expect("registered");
        assert_eq!(
            Some(latest.to_string().as_str()),
            declared.last().copied(),
            "{name}: new instances start on the newest"
        );
    }
}

#[tokio::test]
async fn every_activity_is_registered() {
    // A lazy pool never connects: building the registry must not touch the database.
    let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").unwrap();
    let root = std::env::temp_dir().join(format!("toygres-registry-{}", std::process::id()));
    let platform = LocalPlatform::new(root.clone(), PgBinaries::discover(None).unwrap()).unwrap();
    let registry = registry::activity_registry(Dependencies::new(
        pool,
        Arc::new(platform),
        toygres_orchestrations::Measures::none(),
    ))
    .expect("no registration errors");
    assert_eq!(
        sorted(activities::ALL),
        registry.list_names().into_iter().collect()
    );
    std::fs::remove_dir_all(root).unwrap();
}
