//! The Kubernetes platform: each instance is three Secrets (its logins, its TLS
//! certificate, its authentication rules and init script), a StatefulSet (with a volume
//! claim template) and a Service in one namespace, labelled `app.kubernetes.io/*`.
//!
//! Deploy applies the StatefulSet and Service with server-side apply under the field
//! manager `toygres`, so a re-run converges instead of conflicting; the Secrets are
//! created only when absent, so a re-run keeps the passwords and the certificate. Status
//! reads pod `<name>-0`. Delete removes everything carrying the instance's labels; absent
//! objects are success.
//!
//! The control plane's CA lives in the Secret `toygres-ca` of the namespace, made by the
//! first server that needs it, so every server issues from the same one. Servers run with
//! TLS only and the owner login of [`crate::access`]; the pod has no service-account token,
//! so even a tenant with superuser access reaches only its own pod's files.

pub mod config;
mod errors;
pub mod objects;
mod pod_log;
mod pod_status;

use async_trait::async_trait;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::config::{EndpointMode, KubernetesConfig};
use self::errors::{classify, is_conflict, is_not_found};
use super::{
    Credentials, Deployed, Endpoint, InstanceSpec, InstanceStatus, LogRead, LogStart, Login,
    Platform, PlatformError, Tls, Whose, password,
};
use crate::access::{self, Verifiers};
use crate::certificates::CertificateAuthority;
use toygres_domain::{InstanceName, PostgresVersion};
use uuid::Uuid;

const FIELD_MANAGER: &str = "toygres";
/// Owns `spec.replicas` of StatefulSets (stop and start).
const REPLICAS_MANAGER: &str = "toygres-replicas";
/// Owns the restart annotation of StatefulSets' pod templates.
const RESTART_MANAGER: &str = "toygres-restart";
/// How long a stop or restart waits for the StatefulSet controller to remove or replace
/// the pod.
const POD_CHANGE_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// What the platform needs of an object kind: a namespaced, typed, (de)serialisable
/// Kubernetes resource.
pub trait NamespacedObject:
    Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
    + Clone
    + DeserializeOwned
    + Serialize
    + std::fmt::Debug
{
}

impl<K> NamespacedObject for K where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug
{
}
pub struct KubernetesPlatform {
    client: Client,
    config: KubernetesConfig,
    ca: CertificateAuthority,
}

/// An instance's logins as its credentials Secret records them.
struct SecretLogins {
    data: std::collections::BTreeMap<String, k8s_openapi::ByteString>,
}

impl SecretLogins {
    fn get(&self, key: &str) -> Option<String> {
        self.data
            .get(key)
            .map(|bytes| String::from_utf8_lossy(&bytes.0).to_string())
    }

    /// An instance made before owner roles has only its superuser.
    fn has_owner(&self) -> bool {
        self.data.contains_key(objects::OWNER_PASSWORD_KEY)
    }

    fn owner(&self) -> String {
        self.get(objects::OWNER_KEY)
            .unwrap_or_else(|| access::SUPERUSER.into())
    }

    fn database(&self) -> String {
        self.get(objects::DATABASE_KEY)
            .unwrap_or_else(|| access::MAINTENANCE_DATABASE.into())
    }
}

impl KubernetesPlatform {
    /// Polls the instance's pod until `done` holds (the pod, or `None` when there is
    /// none), for at most [`POD_CHANGE_WAIT`].
    async fn wait_for_pod(
        &self,
        name: &InstanceName,
        what: &str,
        done: impl Fn(Option<&Pod>) -> bool,
    ) -> Result<(), PlatformError> {
        let deadline = tokio::time::Instant::now() + POD_CHANGE_WAIT;
        let pods = self.api::<Pod>();
        loop {
            let pod = pods
                .get_opt(&objects::pod_name(name))
                .await
                .map_err(|e| classify(e, "reading the pod"))?;
            if done(pod.as_ref()) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PlatformError::Failed(format!(
                    "the pod of {name} was not {what} within {}s",
                    POD_CHANGE_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// The platform on `client`, with the namespace's CA (made when there is none yet).
    pub async fn connect(client: Client, config: KubernetesConfig) -> Result<Self, PlatformError> {
        let ca = load_or_create_ca(&client, &config.namespace).await?;
        Ok(Self { client, config, ca })
    }

    /// A client from `KUBECONFIG`, `~/.kube/config` or the in-cluster service account.
    pub async fn from_environment(config: KubernetesConfig) -> Result<Self, PlatformError> {
        let client = Client::try_default()
            .await
            .map_err(|e| PlatformError::Failed(format!("connecting to Kubernetes: {e}")))?;
        Self::connect(client, config).await
    }

    fn api<K: NamespacedObject>(&self) -> Api<K> {
        Api::namespaced(self.client.clone(), &self.config.namespace)
    }

    /// API servers without admission accept objects in missing namespaces; say it plainly.
    /// A Role that may not read namespaces gets a 403 here, which proves nothing: go on.
    async fn check_namespace(&self) -> Result<(), PlatformError> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        match namespaces.get_opt(&self.config.namespace).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(PlatformError::Unsupported(format!(
                "namespace {:?} does not exist; create it or configure another",
                self.config.namespace
            ))),
            Err(kube::Error::Api(status)) if status.code == 403 => Ok(()),
            Err(e) => Err(classify(e, "reading the namespace")),
        }
    }

    /// Creates `secret` unless a Secret of its name exists: what it holds is fixed at
    /// first deploy. Returns the Secret as it is.
    async fn create_once(&self, secret: Secret) -> Result<Secret, PlatformError> {
        let secrets: Api<Secret> = self.api();
        let name = secret.metadata.name.clone().unwrap_or_default();
        if let Some(existing) = secrets
            .get_opt(&name)
            .await
            .map_err(|e| classify(e, &format!("reading Secret {name}")))?
        {
            return Ok(existing);
        }
        match secrets.create(&PostParams::default(), &secret).await {
            Ok(created) => Ok(created),
            Err(e) if is_conflict(&e) => secrets
                .get(&name)
                .await
                .map_err(|e| classify(e, &format!("reading Secret {name}"))),
            Err(e) => Err(classify(e, &format!("creating Secret {name}"))),
        }
    }

    /// The instance's three Secrets: logins, certificate, rules and init script.
    async fn ensure_secrets(&self, spec: &InstanceSpec) -> Result<(), PlatformError> {
        let (superuser, owner, monitor) = (
            password::generate(),
            password::generate(),
            password::generate(),
        );
        let passwords = objects::Passwords {
            superuser: &superuser,
            owner: &owner,
            monitor: &monitor,
        };
        let credentials = self
            .create_once(objects::credentials_secret(
                &self.config,
                &spec.name,
                &passwords,
                &spec.access,
            ))
            .await?;
        let kept = SecretLogins {
            data: credentials.data.unwrap_or_default(),
        };
        let server = self.ca.issue_server(&self.certificate_names(&spec.name))?;
        self.create_once(objects::tls_secret(
            &self.config,
            &spec.name,
            &server,
            self.ca.certificate_pem(),
        ))
        .await?;
        let verifiers = Verifiers::of(
            &kept.get(objects::PASSWORD_KEY).unwrap_or_default(),
            &kept.get(objects::OWNER_PASSWORD_KEY).unwrap_or_default(),
            &kept.get(objects::MONITOR_PASSWORD_KEY).unwrap_or_default(),
        );
        self.create_once(objects::init_secret(
            &self.config,
            &spec.name,
            &spec.access,
            &verifiers,
            spec.postgres_version.major(),
        ))
        .await
        .map(|_| ())
    }

    /// What the server certificate of `name` names: the Service's names in the cluster,
    /// and the fixed address clients use when there is one.
    fn certificate_names(&self, name: &InstanceName) -> Vec<String> {
        let namespace = &self.config.namespace;
        let mut names = vec![
            name.to_string(),
            format!("{name}.{namespace}"),
            format!("{name}.{namespace}.svc"),
        ];
        match &self.config.endpoint {
            EndpointMode::ClusterDns { cluster_domain } => {
                names.push(format!("{name}.{namespace}.svc.{cluster_domain}"));
            }
            EndpointMode::Fixed { host, .. } => names.push(host.clone()),
            EndpointMode::LoadBalancer => {}
        }
        names
    }

    async fn logins(&self, name: &InstanceName) -> Result<SecretLogins, PlatformError> {
        let secret = self
            .api::<Secret>()
            .get_opt(&objects::credentials_secret_name(name))
            .await
            .map_err(|e| classify(e, "reading the credentials Secret"))?
            .ok_or_else(|| PlatformError::NotFound(name.to_string()))?;
        Ok(SecretLogins {
            data: secret.data.unwrap_or_default(),
        })
    }

    /// How clients verify the server of `name`: no TLS Secret means a server made before
    /// instances had certificates.
    async fn tls(&self, name: &InstanceName) -> Result<Tls, PlatformError> {
        let secret = self
            .api::<Secret>()
            .get_opt(&objects::tls_secret_name(name))
            .await
            .map_err(|e| classify(e, "reading the TLS Secret"))?;
        Ok(match (secret, &self.config.endpoint) {
            (None, _) => Tls::Off,
            // The balancer's address is assigned after the certificate is issued.
            (Some(_), EndpointMode::LoadBalancer) => Tls::VerifyCa,
            (Some(_), _) => Tls::VerifyFull,
        })
    }

    async fn apply<K: NamespacedObject>(&self, object: &K) -> Result<(), PlatformError> {
        let name = object.meta().name.clone().unwrap_or_default();
        let kind = K::kind(&()).to_string();
        self.api::<K>()
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(object),
            )
            .await
            .map(|_| ())
            .map_err(|e| classify(e, &format!("applying {kind} {name}")))
    }

    /// Server-side applies `part` of StatefulSet `name` as `manager`, which owns just those
    /// fields; the StatefulSet must exist.
    async fn apply_part(
        &self,
        name: &InstanceName,
        whose: Whose,
        manager: &str,
        part: serde_json::Value,
    ) -> Result<(), PlatformError> {
        let stateful_sets = self.api::<StatefulSet>();
        let existing = self.stateful_set(name).await?;
        match existing {
            None => return Err(PlatformError::NotFound(name.to_string())),
            Some(existing) if !whose.may_act_on(objects::record_of(&existing)) => {
                return Err(Whose::refused(name));
            }
            Some(_) => {}
        }
        stateful_sets
            .patch(
                name.as_str(),
                &PatchParams::apply(manager).force(),
                &Patch::Apply(part),
            )
            .await
            .map(|_| ())
            .map_err(|e| classify(e, &format!("updating StatefulSet {name}")))
    }

    async fn stateful_set(
        &self,
        name: &InstanceName,
    ) -> Result<Option<StatefulSet>, PlatformError> {
        self.api::<StatefulSet>()
            .get_opt(name.as_str())
            .await
            .map_err(|e| classify(e, "reading the StatefulSet"))
    }

    async fn delete_named<K: NamespacedObject>(&self, name: &str) -> Result<(), PlatformError> {
        match self.api::<K>().delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(classify(e, &format!("deleting {name}"))),
        }
    }

    /// Deletes every object of kind `K` that carries the instance's labels (pods left by
    /// the StatefulSet, claims made from its template).
    async fn delete_labelled<K: NamespacedObject>(
        &self,
        name: &InstanceName,
    ) -> Result<(), PlatformError> {
        let listed = self
            .api::<K>()
            .list(&ListParams::default().labels(&objects::label_selector(name)))
            .await
            .map_err(|e| classify(e, "listing labelled objects"))?;
        for object in listed.items {
            if let Some(object_name) = object.meta().name.clone() {
                self.delete_named::<K>(&object_name).await?;
            }
        }
        Ok(())
    }

    /// A ready pod behind a load balancer is reachable only once the balancer has an address.
    async fn load_balancer_status(
        &self,
        name: &InstanceName,
    ) -> Result<InstanceStatus, PlatformError> {
        let service = self
            .api::<Service>()
            .get_opt(name.as_str())
            .await
            .map_err(|e| classify(e, "reading the Service"))?;
        let has_address = match &service {
            Some(service) => Self::load_balancer_address(service).is_ok(),
            None => false,
        };
        Ok(if has_address {
            InstanceStatus::Ready
        } else {
            InstanceStatus::NotReady {
                reason: format!("waiting for the load balancer of {name} to get an address"),
            }
        })
    }

    fn load_balancer_address(service: &Service) -> Result<String, PlatformError> {
        service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .and_then(|ingress| ingress.first())
            .and_then(|i| i.ip.clone().or_else(|| i.hostname.clone()))
            .ok_or_else(|| PlatformError::Failed("the load balancer has no address yet".into()))
    }
}

#[async_trait]
impl Platform for KubernetesPlatform {
    fn kind(&self) -> &'static str {
        "kubernetes"
    }

    /// Any supported version: `postgres:<major>` images exist for all of them. A registry
    /// mirror without one shows up as an image pull failure.
    fn check_version(&self, _version: PostgresVersion) -> Result<(), PlatformError> {
        Ok(())
    }

    fn default_version(&self) -> PostgresVersion {
        PostgresVersion::default()
    }

    async fn deploy(&self, spec: &InstanceSpec, record: Uuid) -> Result<Deployed, PlatformError> {
        if !spec.standbys.is_none() {
            return Err(PlatformError::Unsupported(
                self.standby_support().err().unwrap_or_default(),
            ));
        }
        self.check_namespace().await?;
        if let Some(existing) = self.stateful_set(&spec.name).await?
            && !Whose::Record(record).may_act_on(objects::record_of(&existing))
        {
            return Err(PlatformError::Failed(format!(
                "StatefulSet {} belongs to another record; it is not taken over",
                spec.name
            )));
        }
        self.ensure_secrets(spec).await?;
        self.apply(&objects::stateful_set(&self.config, spec, record))
            .await?;
        self.apply(&objects::service(&self.config, &spec.name))
            .await?;
        Ok(Deployed::default())
    }

    /// Scales the StatefulSet to 0 and waits until its pod is gone (so "stopped" means no
    /// server runs): the volume and the password stay.
    async fn stop(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError> {
        self.apply_part(name, whose, REPLICAS_MANAGER, objects::replicas(name, 0))
            .await?;
        self.wait_for_pod(name, "removed", |pod| pod.is_none())
            .await
    }

    /// Scales the StatefulSet back to 1 on the same volume.
    async fn start(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError> {
        self.apply_part(name, whose, REPLICAS_MANAGER, objects::replicas(name, 1))
            .await
    }

    /// Sets the restart annotation to `token` (the same token twice changes nothing), then
    /// waits until the StatefulSet controller has replaced the pod with one that carries
    /// it, so that "ready" afterwards means the new server.
    async fn restart(
        &self,
        name: &InstanceName,
        whose: Whose,
        token: &str,
    ) -> Result<(), PlatformError> {
        self.apply_part(
            name,
            whose,
            RESTART_MANAGER,
            objects::restart_annotation(name, token),
        )
        .await?;
        self.wait_for_pod(name, "replaced", |pod| {
            pod.and_then(|pod| pod.metadata.annotations.as_ref())
                .and_then(|annotations| annotations.get(objects::RESTART_ANNOTATION))
                .is_some_and(|value| value == token)
        })
        .await
    }

    async fn status(&self, name: &InstanceName) -> Result<InstanceStatus, PlatformError> {
        let pod_name = objects::pod_name(name);
        let pod = self
            .api::<Pod>()
            .get_opt(&pod_name)
            .await
            .map_err(|e| classify(e, "reading the pod"))?;
        if let Some(pod) = pod {
            let status = pod_status::interpret(&pod);
            if status == InstanceStatus::Ready && self.config.endpoint == EndpointMode::LoadBalancer
            {
                return self.load_balancer_status(name).await;
            }
            return Ok(status);
        }
        let stateful_set = self
            .api::<StatefulSet>()
            .get_opt(name.as_str())
            .await
            .map_err(|e| classify(e, "reading the StatefulSet"))?;
        Ok(match stateful_set {
            Some(_) => InstanceStatus::NotReady {
                reason: format!("waiting for pod {pod_name} to be created"),
            },
            None => InstanceStatus::Missing,
        })
    }

    async fn endpoint(&self, name: &InstanceName) -> Result<Endpoint, PlatformError> {
        let service = self
            .api::<Service>()
            .get_opt(name.as_str())
            .await
            .map_err(|e| classify(e, "reading the Service"))?
            .ok_or_else(|| PlatformError::NotFound(name.to_string()))?;
        let (host, port) = match &self.config.endpoint {
            EndpointMode::ClusterDns { cluster_domain } => (
                format!("{name}.{}.svc.{cluster_domain}", self.config.namespace),
                self.config.service_port,
            ),
            EndpointMode::LoadBalancer => (
                Self::load_balancer_address(&service)?,
                self.config.service_port,
            ),
            EndpointMode::Fixed { host, port } => (host.clone(), *port),
        };
        let logins = self.logins(name).await?;
        Ok(Endpoint {
            host,
            port,
            user: logins.owner(),
            database: logins.database(),
            tls: self.tls(name).await?,
            standbys: Vec::new(),
        })
    }

    async fn credentials(
        &self,
        name: &InstanceName,
        login: Login,
    ) -> Result<Credentials, PlatformError> {
        let logins = self.logins(name).await?;
        let (user, key, database) = match (login, logins.has_owner()) {
            (Login::Owner, true) => (
                logins.owner(),
                objects::OWNER_PASSWORD_KEY,
                logins.database(),
            ),
            (Login::Monitor, true) => (
                access::MONITOR.to_string(),
                objects::MONITOR_PASSWORD_KEY,
                access::MAINTENANCE_DATABASE.to_string(),
            ),
            (Login::Superuser, _) | (_, false) => (
                access::SUPERUSER.to_string(),
                objects::PASSWORD_KEY,
                access::MAINTENANCE_DATABASE.to_string(),
            ),
        };
        let password = logins.get(key).ok_or_else(|| {
            PlatformError::Failed(format!("the credentials Secret of {name} has no {key}"))
        })?;
        let credentials = Credentials::new(user, password, database);
        Ok(match self.tls(name).await? {
            Tls::Off => credentials,
            _ => credentials.verified_by(self.ca.trusted()),
        })
    }

    fn ca_certificate(&self) -> Option<String> {
        Some(self.ca.certificate_pem().to_string())
    }

    /// Each pod has its own files and no cluster credentials: a superuser reaches its own.
    fn superuser_access_support(&self) -> Result<(), String> {
        Ok(())
    }

    fn superuser_access_changes(&self) -> Result<(), String> {
        Err(
            "on Kubernetes superuser access is chosen at create (--superuser-access) and cannot be changed afterwards yet"
                .into(),
        )
    }

    async fn read_log(
        &self,
        name: &InstanceName,
        start: LogStart,
    ) -> Result<LogRead, PlatformError> {
        self.read_pod_log(name, start).await
    }

    async fn delete(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError> {
        if let Some(existing) = self.stateful_set(name).await?
            && !whose.may_act_on(objects::record_of(&existing))
        {
            tracing::info!(instance = %name, "not deleted: another record holds the name");
            return Ok(());
        }
        self.delete_named::<Service>(name.as_str()).await?;
        self.delete_named::<StatefulSet>(name.as_str()).await?;
        self.delete_labelled::<Pod>(name).await?;
        self.delete_labelled::<PersistentVolumeClaim>(name).await?;
        self.delete_labelled::<Secret>(name).await
    }
}

/// The CA in the namespace's `toygres-ca` Secret, made there the first time; when two
/// servers race, the one whose Secret was created first wins and the other reads it.
async fn load_or_create_ca(
    client: &Client,
    namespace: &str,
) -> Result<CertificateAuthority, PlatformError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let read = |secret: Secret| {
        let data = secret.data.unwrap_or_default();
        let field = |key: &str| {
            data.get(key)
                .map(|bytes| String::from_utf8_lossy(&bytes.0).to_string())
                .ok_or_else(|| {
                    PlatformError::Failed(format!("Secret {} has no {key}", objects::CA_SECRET))
                })
        };
        CertificateAuthority::from_pem(field(objects::TLS_CERT_KEY)?, field(objects::TLS_KEY_KEY)?)
    };
    if let Some(existing) = secrets
        .get_opt(objects::CA_SECRET)
        .await
        .map_err(|e| classify(e, "reading the CA Secret"))?
    {
        return read(existing);
    }
    let ca = CertificateAuthority::generate()?;
    let secret = objects::ca_secret(namespace, ca.certificate_pem(), ca.key_pem());
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(ca),
        Err(e) if is_conflict(&e) => read(
            secrets
                .get(objects::CA_SECRET)
                .await
                .map_err(|e| classify(e, "reading the CA Secret"))?,
        ),
        Err(e) => Err(classify(e, "creating the CA Secret")),
    }
}
