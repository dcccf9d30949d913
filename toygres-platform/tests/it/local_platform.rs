//! Local platform edges that the workflows rely on.

use toygres_domain::InstanceName;
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::{InstanceStatus, Platform, PlatformError};
use toygres_test_support::scratch;

fn platform() -> LocalPlatform {
    LocalPlatform::new(
        scratch::subdir("edges"),
        PgBinaries::discover(None).unwrap(),
    )
    .unwrap()
}

#[test]
fn a_relative_root_is_made_absolute() {
    // PostgreSQL tools run in the instance directory: a relative path would break them.
    let relative =
        std::path::PathBuf::from(format!("target/toygres-relative-{}", std::process::id()));
    let platform =
        LocalPlatform::new(relative.clone(), PgBinaries::discover(None).unwrap()).unwrap();
    assert!(
        platform.root().is_absolute(),
        "{}",
        platform.root().display()
    );
    assert!(platform.root().ends_with(&relative));
    std::fs::remove_dir_all(platform.root()).unwrap();
}

#[tokio::test]
async fn an_unknown_instance_is_missing_and_deleting_it_succeeds() {
    let platform = platform();
    let name = InstanceName::parse("nobody").unwrap();
    assert_eq!(
        platform.status(&name).await.unwrap(),
        InstanceStatus::Missing
    );
    assert!(matches!(
        platform.endpoint(&name).await,
        Err(PlatformError::NotFound(_))
    ));
    assert!(matches!(
        platform.credentials(&name).await,
        Err(PlatformError::NotFound(_))
    ));
    platform
        .delete(&name)
        .await
        .expect("deleting nothing succeeds");
    platform
        .stop(&name)
        .await
        .expect("stopping nothing succeeds");
}
