//! Making a local instance and starting its server: its directory and OS account, its
//! port, its data (from the warm pool or `initdb`), its settings and certificate, its
//! logins. Every step checks what is done before doing it, so a deploy repeated after a
//! crash at any point converges.

use std::path::Path;
use std::time::Duration;

use uuid::Uuid;

use super::cluster::{
    Auth, ClusterSettings, PgCluster, StopMode, io_error, remove_dir_if_present, tail,
};
use super::instance_file::InstanceFile;
use super::layout::Layout;
use super::logins::{self, Start};
use super::os_user::{Identity, RunAs};
use super::{HOST, LocalPlatform, log_tail, passwords, server_tls, socket_dir, warm_pool};
use crate::access::{self, Access};
use crate::{Deployed, InstanceSpec, Platform, PlatformError, WarmPoolFill, Whose};

/// The authentication rules Toygres writes (`hba_file`), in place of initdb's.
const HBA_FILE: &str = "toygres_hba.conf";
/// The instance's first server, whose paths and port are the instance's own.
pub(super) const FIRST_MEMBER: u8 = 1;
/// How often a server that finds its port taken gets another one.
const PORT_ATTEMPTS: usize = 3;

impl LocalPlatform {
    pub(super) async fn provision(
        &self,
        spec: &InstanceSpec,
        record: Uuid,
    ) -> Result<Deployed, PlatformError> {
        let major = spec.postgres_version.major();
        // Refuse an uninstalled version before anything touches the disk.
        self.binaries.for_major(major)?;
        let layout = self.place(&spec.name, record)?;
        let file = self.ensure_instance(spec, record, &layout).await?;
        let (start, file) = self.adopt_warm_data(&layout, major, file).await?;
        let run_as = self.users.ensure(&file.account(&self.users)).await?;
        // A warm entry's logins are made already, with the default names.
        let logins_to_make = file
            .access
            .clone()
            .filter(|access| start == Start::Created || !access.has_default_names());
        let passwords = passwords(&layout).await?;
        let verifiers = logins_to_make
            .as_ref()
            .map(|_| passwords.verifiers_in_background());
        let cluster = self.cluster_as(&layout, major, run_as)?;
        if !cluster.is_initialised() {
            let _slot = self.initdb_slots.acquire().await.expect("never closed");
            cluster.init(access::SUPERUSER, &Auth::OwnRules).await?;
        }
        let file = self
            .start_on_own_port(&cluster, &layout, file, self.config.startup_timeout)
            .await?;
        // Cloned before the logins are made: the logins reach them by streaming.
        self.ensure_standbys(&layout, file).await?;
        if let (Some(access), Some(verifiers)) = (logins_to_make, verifiers) {
            let verifiers = verifiers
                .await
                .map_err(|e| PlatformError::Failed(format!("deriving verifiers: {e}")))?;
            let mut connection = self.connect_socket(&spec.name).await?;
            logins::provision(&mut connection, &access, &verifiers, major, start).await?;
        }
        remove_dir_if_present(&layout.claimed()).await?;
        Ok(Deployed {
            from_warm_pool: start == Start::Premade,
        })
    }

    /// The instance's directory and `instance.json`: the first deploy fixes the port,
    /// version, logins and OS account; a later deploy must agree on the version.
    pub(super) async fn ensure_instance(
        &self,
        spec: &InstanceSpec,
        record: Uuid,
        layout: &Layout,
    ) -> Result<InstanceFile, PlatformError> {
        layout.secure(self.shared_dir_mode())?;
        let wanted = spec.postgres_version.major();
        let _allocating = self.port_allocation.lock().await;
        match InstanceFile::read(layout, spec.name.as_str()).await {
            Ok(existing) if !Whose::Record(record).may_act_on(existing.record) => {
                Err(PlatformError::Failed(format!(
                    "{} holds an instance of another record; it is not taken over",
                    layout.dir.display()
                )))
            }
            Ok(existing) if existing.postgres_major == wanted => Ok(existing),
            Ok(existing) => Err(PlatformError::Unsupported(format!(
                "instance {} already exists with PostgreSQL {}, not {wanted}",
                spec.name, existing.postgres_major
            ))),
            Err(PlatformError::NotFound(_)) => {
                let account = match self.users.for_record(record) {
                    super::os_user::Identity::Account(name) => Some(name),
                    super::os_user::Identity::Inherited => None,
                };
                let file = InstanceFile {
                    record: Some(record),
                    port: self.free_port()?,
                    postgres_major: wanted,
                    access: Some(spec.access.clone()),
                    os_user: account,
                    recovering_as: None,
                    tls: false,
                    standbys: spec.standbys,
                    members: Vec::new(),
                    primary: FIRST_MEMBER,
                    settings: spec.settings.clone(),
                };
                file.write(layout).await?;
                Ok(file)
            }
            Err(other) => Err(other),
        }
    }

    /// A port of the range that no instance here has and nobody listens on.
    pub(super) fn free_port(&self) -> Result<u16, PlatformError> {
        self.config
            .port_range
            .pick(&super::ports::recorded_under(&self.root), HOST)
    }

    /// Takes a warm-pool entry when the instance has no data yet, and finishes moving one
    /// that an interrupted deploy claimed: its data, passwords and certificate become the
    /// instance's, and so does its account (an account the instance was given before the
    /// claim, by a deploy that crashed, goes).
    async fn adopt_warm_data(
        &self,
        layout: &Layout,
        major: u32,
        file: InstanceFile,
    ) -> Result<(Start, InstanceFile), PlatformError> {
        let claimed = layout.claimed();
        let initialised = layout.data().join("PG_VERSION").is_file();
        if !initialised && !claimed.exists() && !self.warm_pool.claim(major, &claimed).await? {
            return Ok((Start::Created, file));
        }
        if !claimed.exists() {
            return Ok((Start::Created, file));
        }
        let entry = Layout::new(claimed.clone());
        let moves = [
            (entry.data(), layout.data()),
            (entry.superuser_password(), layout.superuser_password()),
            (entry.owner_password(), layout.owner_password()),
            (entry.monitor_password(), layout.monitor_password()),
            (entry.certificate_record(), layout.certificate_record()),
        ];
        for (from, to) in moves {
            if from.exists() && !(to == layout.data() && initialised) {
                tokio::fs::rename(&from, &to)
                    .await
                    .map_err(|e| io_error("taking from the warm pool", &to, e))?;
            }
        }
        let account = warm_pool::account_of(&claimed);
        if file.os_user == account {
            return Ok((Start::Premade, file));
        }
        if let Some(previous) = &file.os_user {
            self.users
                .remove(&Identity::Account(previous.clone()))
                .await?;
        }
        let file = InstanceFile {
            os_user: account,
            ..file
        };
        file.write(layout).await?;
        Ok((Start::Premade, file))
    }

    /// Starts the server on its recorded port; a port someone else took meanwhile is
    /// replaced (only before the instance ever ran, since the port is fixed once known).
    pub(super) async fn start_on_own_port(
        &self,
        cluster: &PgCluster,
        layout: &Layout,
        mut file: InstanceFile,
        startup: Duration,
    ) -> Result<InstanceFile, PlatformError> {
        if cluster.running_pid().is_some() {
            // Already serving, on the settings it was started with.
            return Ok(file);
        }
        for attempt in 1..=PORT_ATTEMPTS {
            file = self.configure(cluster, layout, file).await?;
            let log = layout.member(file.primary).log();
            match cluster.start(&log, Some(startup)).await {
                Ok(()) => return self.record_tls(layout, file).await,
                Err(error) if attempt < PORT_ATTEMPTS && port_was_taken(&log).await => {
                    tracing::warn!(port = file.port, %error, "instance port taken; choosing another");
                    let _allocating = self.port_allocation.lock().await;
                    file.port = self.free_port()?;
                    file.write(layout).await?;
                }
                Err(error) => {
                    return Err(PlatformError::Failed(format!(
                        "{error}; last log lines: {}",
                        log_tail(&log).await
                    )));
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Writes the settings, authentication rules, certificate, socket directory and log
    /// file of the instance's primary before a start: every (re)start runs on the settings of this
    /// version of Toygres, whatever version made the instance.
    pub(super) async fn configure(
        &self,
        cluster: &PgCluster,
        layout: &Layout,
        file: InstanceFile,
    ) -> Result<InstanceFile, PlatformError> {
        self.configure_member(cluster, layout, file.primary, &file)
            .await?;
        Ok(file)
    }

    /// [`Self::configure`] for the instance's `number`-th server.
    pub(super) async fn configure_member(
        &self,
        cluster: &PgCluster,
        layout: &Layout,
        number: u8,
        file: &InstanceFile,
    ) -> Result<(), PlatformError> {
        layout.secure(self.shared_dir_mode())?;
        let member = layout.member(number);
        member.secure(self.shared_dir_mode())?;
        let run_as = self.users.resolve(&file.account(&self.users))?;
        let socket = member.socket_dir(&self.socket_base);
        socket_dir::ensure(&socket, run_as.as_ref()).await?;
        socket_dir::remove_stale_socket(&socket, file.port_of(number), &member.data())?;
        let log = member.log();
        if !log.exists() {
            super::cluster::write_file(&log, b"").await?;
        }
        if let Some(run_as) = &run_as {
            run_as.give(&log)?;
        }
        let rules = access::hba_rules(super::CLIENTS, file.logins().superuser_access);
        let hba = member.data().join(HBA_FILE);
        super::cluster::write_file(&hba, rules.as_bytes()).await?;
        if let Some(run_as) = &run_as {
            run_as.give(&hba)?;
        }
        server_tls::ensure(&self.ca, &member, &[HOST.to_string()], run_as.as_ref()).await?;
        // The archive command's script must be there before the server archives.
        self.backups.ensure().await?;
        let mut settings = self.cluster_settings(layout, &member, file.port_of(number));
        settings
            .extra
            .extend(self.role_settings(layout, number, file));
        settings.tenant = file
            .settings
            .iter()
            .map(|(name, value)| (name.to_string(), quoted(value.clone())))
            .collect();
        cluster.configure(&settings).await
    }
    /// Notes that the instance's server now speaks TLS (it was started with `configure`'s
    /// settings).
    pub(super) async fn record_tls(
        &self,
        layout: &Layout,
        file: InstanceFile,
    ) -> Result<InstanceFile, PlatformError> {
        if file.tls {
            return Ok(file);
        }
        let file = InstanceFile { tls: true, ..file };
        file.write(layout).await?;
        Ok(file)
    }

    /// What Toygres writes into the configuration of each server of an instance (`member`
    /// the server's own paths): its port, its private socket, its rules, TLS, WAL
    /// archiving to the instance's stanza once it has one (see `backups`; a standby
    /// archives only once promoted), and hint bits in WAL so it can be rewound.
    fn cluster_settings(&self, layout: &Layout, member: &Layout, port: u16) -> ClusterSettings {
        let data = member.data();
        let mut extra = vec![
            (
                "unix_socket_directories".into(),
                quoted(member.socket_dir(&self.socket_base).display().to_string()),
            ),
            ("unix_socket_permissions".into(), "0700".into()),
            (
                "hba_file".into(),
                quoted(data.join(HBA_FILE).display().to_string()),
            ),
            ("archive_mode".into(), "on".into()),
            (
                "archive_command".into(),
                quoted(self.backups.archive_command(&layout.dir, &data)),
            ),
            ("archive_timeout".into(), "'60s'".into()),
            // pg_rewind needs it (or data checksums): a primary demoted by a failover can
            // then rejoin as a standby instead of being cloned again.
            ("wal_log_hints".into(), "on".into()),
        ];
        extra.extend(server_tls::settings());
        ClusterSettings {
            port,
            extra,
            tenant: Vec::new(),
        }
    }

    /// Makes warm data directories until `size` are ready for the default version.
    pub(super) async fn fill_pool(&self, size: u32) -> Result<WarmPoolFill, PlatformError> {
        let install = self
            .binaries
            .for_major(self.default_version().major())?
            .clone();
        let major = install.major;
        let discarded = self.warm_pool.discard_unusable(major).await?;
        for account in &discarded {
            self.users
                .remove(&Identity::Account(account.clone()))
                .await?;
        }
        self.users.remove(&self.users.earlier_pool()).await?;
        let mut fill = WarmPoolFill {
            ready: self.warm_pool.ready(major).len() as u32,
            made: 0,
        };
        while fill.ready < size {
            let _slot = self.initdb_slots.acquire().await.expect("never closed");
            self.warm_pool
                .make_one(major, |entry, id| self.premake(entry, id, install.clone()))
                .await?;
            fill.ready += 1;
            fill.made += 1;
        }
        Ok(fill)
    }

    /// Makes a warm-pool entry: an account of its own, `initdb`, the passwords and the
    /// certificate, and the default logins, made on a server that listens on a private
    /// socket only and is stopped again.
    async fn premake(
        &self,
        entry: std::path::PathBuf,
        id: Uuid,
        install: super::binaries::PgInstall,
    ) -> Result<(), PlatformError> {
        let identity = self.users.for_record(id);
        let name = match &identity {
            Identity::Account(name) => name.clone(),
            Identity::Inherited => String::new(),
        };
        // Named before it exists, so a crash never leaves an account no entry names.
        super::cluster::write_file(&entry.join(warm_pool::ACCOUNT), name.as_bytes()).await?;
        let run_as = self.users.ensure(&identity).await?;
        let layout = Layout::new(entry.clone());
        let major = install.major;
        let cluster = PgCluster::new(layout.data(), install, run_as);
        cluster.init(access::SUPERUSER, &Auth::OwnRules).await?;
        let verifiers = passwords(&layout).await?.verifiers_in_background();
        server_tls::ensure(&self.ca, &layout, &[HOST.to_string()], run_as.as_ref()).await?;
        let socket = socket_dir::for_instance(&entry, &self.socket_base);
        socket_dir::ensure(&socket, run_as.as_ref()).await?;
        let quoted = format!("'{}'", socket.display());
        cluster
            .configure(&ClusterSettings {
                port: 5432,
                extra: vec![
                    ("listen_addresses".into(), "''".into()),
                    ("unix_socket_directories".into(), quoted),
                ],
                tenant: Vec::new(),
            })
            .await?;
        let log = entry.join("premake.log");
        super::cluster::write_file(&log, b"").await?;
        if let Some(run_as) = &run_as {
            run_as.give(&log)?;
        }
        cluster
            .start(&log, Some(self.config.startup_timeout))
            .await?;
        let made = async {
            let verifiers = verifiers
                .await
                .map_err(|e| PlatformError::Failed(format!("deriving verifiers: {e}")))?;
            let mut connection = logins::connect_socket(&socket, 5432).await?;
            logins::provision(
                &mut connection,
                &Access::default(),
                &verifiers,
                major,
                Start::Created,
            )
            .await
        }
        .await;
        cluster.stop(StopMode::Fast).await?;
        remove_dir_if_present(&socket).await?;
        let _ = tokio::fs::remove_file(&log).await;
        made
    }
}

/// `value` as a PostgreSQL configuration string.
pub(super) fn quoted(value: String) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Gives a directory tree to `run_as` without blocking the runtime.
pub(super) async fn give_tree(run_as: RunAs, path: &Path) -> Result<(), PlatformError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || run_as.give_tree(&path))
        .await
        .map_err(|e| PlatformError::Failed(format!("giving a directory away: {e}")))?
}

async fn port_was_taken(log: &Path) -> bool {
    let log = tokio::fs::read_to_string(log).await.unwrap_or_default();
    tail(&log, 600).contains("Address already in use")
}
