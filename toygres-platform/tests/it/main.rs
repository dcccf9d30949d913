//! The platforms' integration tests, one binary: real PostgreSQL processes for the local
//! platform, and offline validation of every Kubernetes object the platform builds.

mod kubernetes_manifests;
mod local_platform;
mod standbys;
mod warm_pool;
