//! The platforms' integration tests, one binary: real PostgreSQL processes for the local
//! platform, offline validation of every Kubernetes object the platform builds, and a pod's
//! log read through the test API server.

mod kubernetes_logs;
mod kubernetes_manifests;
mod local_platform;
mod standbys;
mod warm_pool;
