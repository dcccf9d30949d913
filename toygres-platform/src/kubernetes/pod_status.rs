//! Reading readiness from pod `<name>-0` the way a user would with `kubectl describe`.

use k8s_openapi::api::core::v1::Pod;

use crate::InstanceStatus;

/// Waiting reasons that no amount of waiting fixes.
const HOPELESS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
];

pub fn interpret(pod: &Pod) -> InstanceStatus {
    let status = pod.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    if ready {
        return InstanceStatus::Ready;
    }
    let waiting = status
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| {
            let waiting = c.state.as_ref()?.waiting.as_ref()?;
            Some((
                c.image.clone(),
                waiting.reason.clone()?,
                waiting.message.clone(),
            ))
        })
        .next();
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let phase = status.phase.unwrap_or_else(|| "Pending".into());
    match waiting {
        Some((image, reason, message)) if HOPELESS.contains(&reason.as_str()) => {
            InstanceStatus::Failed {
                reason: format!(
                    "pod {pod_name} ({image}): {reason}: {}",
                    message.unwrap_or_default()
                ),
            }
        }
        Some((_, reason, _)) => InstanceStatus::NotReady {
            reason: format!("pod {pod_name} is {phase}: {reason}"),
        },
        None => InstanceStatus::NotReady {
            reason: format!("pod {pod_name} is {phase}, not ready yet"),
        },
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateWaiting, ContainerStatus, PodCondition, PodStatus,
    };

    use super::*;

    fn pod(status: PodStatus) -> Pod {
        Pod {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("shop-0".into()),
                ..Default::default()
            },
            status: Some(status),
            ..Pod::default()
        }
    }

    fn waiting(reason: &str) -> PodStatus {
        PodStatus {
            phase: Some("Pending".into()),
            container_statuses: Some(vec![ContainerStatus {
                name: "postgres".into(),
                image: "docker.io/library/postgres:15".into(),
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some(reason.into()),
                        message: Some("details".into()),
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }]),
            ..PodStatus::default()
        }
    }

    #[test]
    fn ready_condition_means_ready() {
        let status = PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        };
        assert_eq!(interpret(&pod(status)), InstanceStatus::Ready);
    }

    #[test]
    fn image_pull_failures_are_final_and_other_waits_are_not() {
        assert!(
            matches!(interpret(&pod(waiting("ImagePullBackOff"))), InstanceStatus::Failed { reason } if reason.contains("ImagePullBackOff") && reason.contains("postgres:15"))
        );
        assert!(
            matches!(interpret(&pod(waiting("ContainerCreating"))), InstanceStatus::NotReady { reason } if reason.contains("ContainerCreating"))
        );
        assert!(matches!(
            interpret(&pod(PodStatus::default())),
            InstanceStatus::NotReady { .. }
        ));
    }
}
