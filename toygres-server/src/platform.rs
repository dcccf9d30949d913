//! Builds the platform instances run on, from the configuration.

use std::sync::Arc;

use anyhow::Context;
use toygres_orchestrations::platform::Platform;
use toygres_orchestrations::platform::kubernetes::KubernetesPlatform;
use toygres_orchestrations::platform::kubernetes::config::{
    EndpointMode, KubernetesConfig, ServiceType,
};
use toygres_orchestrations::platform::local::LocalPlatform;
use toygres_orchestrations::platform::local::binaries::PgBinaries;

use crate::config::{Config, KubeEndpoint, KubeServiceType, KubernetesArgs, PlatformKind};

pub async fn build(config: &Config) -> anyhow::Result<Arc<dyn Platform>> {
    Ok(match config.platform {
        PlatformKind::Local => {
            let binaries = PgBinaries::discover(config.pg_bin.as_deref())?;
            Arc::new(LocalPlatform::new(config.instances_dir(), binaries)?)
        }
        PlatformKind::Kubernetes => Arc::new(
            KubernetesPlatform::from_environment(kubernetes_config(&config.kubernetes)?).await?,
        ),
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
