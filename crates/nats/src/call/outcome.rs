//! [`RemoteCallError::kind`]: a call's outcome as a short fixed label
//! (the `outcome` label of `arbor_nats_remote_calls_total`, and for logs).

use super::RemoteCallError;

impl RemoteCallError {
    /// The error's kind as a fixed label: `noconnection`, `noproc`,
    /// `timeout`, `exited`, `decode`, `encode`, `payload_too_large` (a
    /// successful call's label is `ok`).
    pub fn kind(&self) -> &'static str {
        match self {
            RemoteCallError::NoConnection { .. } => "noconnection",
            RemoteCallError::NoProcess => "noproc",
            RemoteCallError::Timeout => "timeout",
            RemoteCallError::Exited(_) => "exited",
            RemoteCallError::Decode { .. } => "decode",
            RemoteCallError::Encode(_) => "encode",
            RemoteCallError::PayloadTooLarge { .. } => "payload_too_large",
        }
    }
}

#[cfg(test)]
mod tests;
