//! How the Kubernetes platform lays instances out and reaches them.

use std::collections::BTreeMap;

/// How clients reach an instance's Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointMode {
    /// `<name>.<namespace>.svc.<cluster-domain>`: for a control plane running in the cluster.
    ClusterDns { cluster_domain: String },
    /// The LoadBalancer's ingress address (requires `ServiceType::LoadBalancer`).
    LoadBalancer,
    /// A fixed address, for port-forwards and tests that stand in for the cluster network.
    Fixed { host: String, port: u16 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceType {
    ClusterIp,
    LoadBalancer,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterIp => "ClusterIP",
            Self::LoadBalancer => "LoadBalancer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesConfig {
    pub namespace: String,
    /// Prefix of the `postgres:<major>` image, e.g. `docker.io/library/` or a mirror.
    pub image_registry: String,
    /// `None`: the cluster's default StorageClass.
    pub storage_class: Option<String>,
    pub service_type: ServiceType,
    pub service_port: u16,
    pub endpoint: EndpointMode,
    /// Container resource requests and limits (`cpu`, `memory`).
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        let pairs = |cpu: &str, memory: &str| {
            BTreeMap::from([
                ("cpu".to_string(), cpu.to_string()),
                ("memory".to_string(), memory.to_string()),
            ])
        };
        Self {
            namespace: "toygres".into(),
            image_registry: "docker.io/library/".into(),
            storage_class: None,
            service_type: ServiceType::ClusterIp,
            service_port: 5432,
            endpoint: EndpointMode::ClusterDns {
                cluster_domain: "cluster.local".into(),
            },
            requests: pairs("250m", "256Mi"),
            limits: pairs("1", "1Gi"),
        }
    }
}
