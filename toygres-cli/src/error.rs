//! CLI failures and their exit codes.

/// Every failure the CLI reports; the variant decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The operation ran and failed (the instance failed, a timeout, a conflict): exit 1.
    #[error("{0}")]
    Failed(String),
    /// The request was not valid: exit 2 (clap uses 2 for its own usage errors too).
    #[error("{0}")]
    Usage(String),
    /// No such instance: exit 3.
    #[error("{0}")]
    NotFound(String),
    /// The server cannot be reached, or refused our token: exit 4.
    #[error("{0}")]
    Unreachable(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Failed(_) => 1,
            Self::Usage(_) => 2,
            Self::NotFound(_) => 3,
            Self::Unreachable(_) => 4,
        }
    }
}
