//! Kubernetes API errors as platform errors a user can act on.
//!
//! Forbidden (RBAC), an exceeded quota, a missing namespace or an invalid object will not
//! fix themselves: they are `Unsupported`, so create-instance fails at once with the API
//! server's own message and cleans up. Everything else (timeouts, conflicts, 5xx) is
//! `Failed` and retried.

use crate::PlatformError;

pub fn classify(error: kube::Error, what: &str) -> PlatformError {
    match &error {
        kube::Error::Api(status) => match status.code {
            403 if status.message.contains("exceeded quota") => {
                PlatformError::Unsupported(format!("{what}: quota exceeded: {}", status.message))
            }
            403 => PlatformError::Unsupported(format!(
                "{what}: forbidden: {} (check the control plane's Role)",
                status.message
            )),
            404 if status.message.contains("namespaces") => {
                PlatformError::Unsupported(format!("{what}: {}", status.message))
            }
            422 => PlatformError::Unsupported(format!("{what}: invalid: {}", status.message)),
            _ => PlatformError::Failed(format!("{what}: {} ({})", status.message, status.code)),
        },
        _ => PlatformError::Failed(format!("{what}: {error}")),
    }
}

/// Whether the API said the object does not exist.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// Whether the API said the object already exists.
pub fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure(message, reason).with_code(code)))
    }

    #[test]
    fn errors_no_retry_can_fix_are_unsupported() {
        let quota = api_error(
            403,
            "Forbidden",
            "pods \"shop-0\" is forbidden: exceeded quota: compute, requested: limits.memory=1Gi",
        );
        let forbidden = api_error(
            403,
            "Forbidden",
            "statefulsets.apps is forbidden: User \"system:serviceaccount:toygres:x\" cannot patch resource",
        );
        let namespace = api_error(404, "NotFound", "namespaces \"nope\" not found");
        for (error, expected) in [
            (quota, "quota exceeded"),
            (forbidden, "forbidden"),
            (namespace, "namespaces \"nope\" not found"),
        ] {
            match classify(error, "deploying shop") {
                PlatformError::Unsupported(message) => {
                    assert!(message.contains(expected), "{message}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn transient_errors_are_retried() {
        let conflict = api_error(409, "Conflict", "the object has been modified");
        assert!(matches!(classify(conflict, "x"), PlatformError::Failed(_)));
        let unavailable = api_error(503, "ServiceUnavailable", "etcd timeout");
        assert!(matches!(
            classify(unavailable, "x"),
            PlatformError::Failed(_)
        ));
    }
}
