//! Builds the platform instances run on, from the configuration.

use std::sync::Arc;

use anyhow::Context;
use toygres_platform::Platform;
use toygres_platform::certificates::CertificateAuthority;
use toygres_platform::kubernetes::KubernetesPlatform;
use toygres_platform::kubernetes::config::{EndpointMode, KubernetesConfig, ServiceType};
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::local::ports::PortRange;
use toygres_platform::local::{LocalConfig, LocalPlatform};

use crate::config::{Config, KubeEndpoint, KubeServiceType, KubernetesArgs, PlatformKind};

/// The platform; the local one issues certificates from `ca` (on Kubernetes the CA is the
/// namespace's, in a Secret).
pub async fn build(
    config: &Config,
    ca: &CertificateAuthority,
) -> anyhow::Result<Arc<dyn Platform>> {
    Ok(match config.platform {
        PlatformKind::Local => {
            let binaries = PgBinaries::discover(config.pg_bin.as_deref())?;
            let local = LocalConfig {
                certificate_authority: Some(ca.clone()),
                ..local_config(config)?
            };
            Arc::new(LocalPlatform::with_config(
                config.instances_dir(),
                binaries,
                local,
            )?)
        }
        PlatformKind::Kubernetes => Arc::new(
            KubernetesPlatform::from_environment(kubernetes_config(&config.kubernetes)?).await?,
        ),
    })
}

/// The local platform's settings; refuses an instance port range the kernel may also use
/// for outgoing connections.
pub fn local_config(config: &Config) -> anyhow::Result<LocalConfig> {
    if let Some(ephemeral) = PortRange::ephemeral() {
        anyhow::ensure!(
            !config.instance_ports.overlaps(&ephemeral),
            "--instance-ports {} overlaps the kernel's ephemeral port range {ephemeral} \
             (net.ipv4.ip_local_port_range): an outgoing connection could hold an instance's \
             port; choose a range outside it",
            config.instance_ports
        );
    }
    let defaults = LocalConfig::default();
    Ok(LocalConfig {
        port_range: config.instance_ports,
        max_concurrent_initdb: config
            .max_concurrent_initdb
            .unwrap_or(defaults.max_concurrent_initdb),
        ..defaults
    })
}

pub fn kubernetes_config(args: &KubernetesArgs) -> anyhow::Result<KubernetesConfig> {
    let endpoint = match (&args.kube_endpoint_address, args.kube_endpoint) {
        (Some(address), _) => {
            let (host, port) = address
                .rsplit_once(':')
                .context("--kube-endpoint-address must be HOST:PORT")?;
            EndpointMode::Fixed {
                host: host.to_string(),
                port: port
                    .parse()
                    .context("--kube-endpoint-address has a bad port")?,
            }
        }
        (None, KubeEndpoint::ClusterDns) => EndpointMode::ClusterDns {
            cluster_domain: args.kube_cluster_domain.clone(),
        },
        (None, KubeEndpoint::LoadBalancer) => EndpointMode::LoadBalancer,
    };
    let service_type = match args.kube_service_type {
        KubeServiceType::ClusterIp => ServiceType::ClusterIp,
        KubeServiceType::LoadBalancer => ServiceType::LoadBalancer,
    };
    anyhow::ensure!(
        endpoint != EndpointMode::LoadBalancer || service_type == ServiceType::LoadBalancer,
        "--kube-endpoint load-balancer needs --kube-service-type load-balancer"
    );
    Ok(KubernetesConfig {
        namespace: args.kube_namespace.clone(),
        image_registry: args.kube_image_registry.clone(),
        storage_class: args.kube_storage_class.clone(),
        service_type,
        service_port: args.kube_service_port,
        endpoint,
        ..KubernetesConfig::default()
    })
}
