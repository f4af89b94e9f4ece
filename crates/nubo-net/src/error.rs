//! The one error type of the data plane: which kernel operation failed, on
//! which object, and why.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A configuration or input the data plane cannot act on (bad prefix,
    /// bad MAC, a prefix length out of range…).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A command (`ip …`) exited unsuccessfully.
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    /// A system call or file operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// A kernel precondition did not hold (the recording fake reports these the
    /// way the kernel would: a missing namespace or link, a duplicate name).
    #[error("kernel precondition: {0}")]
    Precondition(String),
    /// The metadata server needs a tokio runtime to spawn its listener.
    #[error("no tokio runtime: {0}")]
    NoRuntime(String),
}

impl NetError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        NetError::Io {
            context: context.into(),
            source,
        }
    }
}
