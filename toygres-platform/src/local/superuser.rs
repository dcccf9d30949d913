//! Turning a local instance's superuser access on and off.
//!
//! On: the authentication rules let the superuser in over TCP (with its password), and the
//! server reloads them. Off: everything a superuser could have handed out is taken back
//! (`access::revoke_superuser_sql`: other superusers, the server-access roles, `ALTER
//! SYSTEM` settings, the superuser's password), superuser sessions end, and the server is
//! stopped, every process left under the instance's own account is killed (whatever the
//! tenant started with `COPY ... TO PROGRAM`), and the server starts again on the
//! control plane's settings.
//!
//! An instance made by the release before owner roles runs under the account every
//! instance of that release shared: either change first moves it to an account of its own
//! (stopped, its data given to the new account, started again), and turning its access off
//! gives it its owner role and database (`app`).
//!
//! What a superuser made inside the instance's databases (a `SECURITY DEFINER` function it
//! owns, say) stays: turning access off cannot prove there is none. The OS account is what
//! keeps even that inside the instance's own files.

use uuid::Uuid;

use super::cluster::StopMode;
use super::instance_file::InstanceFile;
use super::layout::Layout;
use super::logins::{self, Start};
use super::os_user::{Identity, kill_processes_of};
use super::provision::give_tree;
use super::{LocalPlatform, passwords, secret_file};
use crate::PlatformError;
use crate::access::Access;
use toygres_domain::InstanceName;

impl LocalPlatform {
    pub(super) async fn change_superuser_access(
        &self,
        name: &InstanceName,
        enabled: bool,
    ) -> Result<(), PlatformError> {
        if enabled && let Err(reason) = crate::Platform::superuser_access_support(self) {
            return Err(PlatformError::Unsupported(reason));
        }
        let layout = self.layout(name);
        let file = self
            .own_account_for(&layout, self.read_file(name).await?)
            .await?;
        let access = Access {
            superuser_access: enabled,
            ..file.access.clone().unwrap_or_default()
        };
        let file = InstanceFile {
            access: Some(access.clone()),
            ..file
        };
        if !enabled {
            // The superuser gets a password its tenant never saw.
            secret_file::write_new(&layout.superuser_password(), None)?;
        }
        file.write(&layout).await?;
        let cluster = self.cluster(&layout, &file)?;
        let file = match cluster.running_pid() {
            Some(_) => {
                let file = self.configure(&cluster, &layout, file).await?;
                cluster.reload().await?;
                self.reload_standbys(&layout, &file).await?;
                file
            }
            None => {
                self.start_on_own_port(&cluster, &layout, file, self.config.startup_timeout)
                    .await?
            }
        };
        if enabled {
            return Ok(());
        }
        let verifiers = passwords(&layout).await?.verifiers();
        let mut connection = self.connect_socket(name).await?;
        logins::revoke_superuser(&mut connection, &verifiers, file.postgres_major).await?;
        logins::provision(
            &mut connection,
            &access,
            &verifiers,
            file.postgres_major,
            Start::Created,
        )
        .await?;
        drop(connection);
        cluster.stop(StopMode::Fast).await?;
        self.stop_standbys(&layout, &file, StopMode::Fast).await?;
        if let Some(account) = self.users.resolve(&file.own_account(&self.users))?
            && self.users.isolates()
        {
            kill_processes_of(account.uid()).await;
        }
        let file = self
            .start_on_own_port(&cluster, &layout, file, self.config.startup_timeout)
            .await?;
        self.ensure_standbys(&layout, file).await.map(|_| ())
    }

    /// An instance of the earlier release, under the shared account, moves to an account
    /// of its own (where the platform makes them); any other is left as it is.
    async fn own_account_for(
        &self,
        layout: &Layout,
        file: InstanceFile,
    ) -> Result<InstanceFile, PlatformError> {
        if file.os_user.is_some() || !self.users.isolates() {
            return Ok(file);
        }
        let shared = self.cluster(layout, &file)?;
        shared.stop(StopMode::Fast).await?;
        let name = match self.users.for_record(Uuid::new_v4()) {
            Identity::Account(name) => name,
            Identity::Inherited => return Ok(file),
        };
        let identity = Identity::Account(name.clone());
        let account = self.users.ensure(&identity).await?;
        if let Some(account) = account {
            give_tree(account, &layout.data()).await?;
        }
        let file = InstanceFile {
            os_user: Some(name),
            ..file
        };
        file.write(layout).await?;
        Ok(file)
    }
}
