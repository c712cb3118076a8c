//! What can go wrong with one replica ([`ReplicaError`], [`ReplicaFailure`]) and with a whole
//! look-up ([`CacheClientError`]), which of them fail over, and the one mapping of each to its
//! metric label.

use std::error::Error as _;
use std::time::Duration;

use hnsfleet_proto::cache::v1::ErrorReason;
use hnsfleet_proto::convert::ConvertError;
use hnsfleet_upstream::Replica;
use hnsfleet_verify::VerifyError;
use thiserror::Error;
use tonic::{Code, Status};

/// Why a look-up failed. Messages name the replica whose failure ended it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CacheClientError {
    /// The replica set is empty (a DNS set before its first good resolution).
    #[error("no proof-cache replica is known")]
    NoReplicas,
    /// A replica refused the request itself (`INVALID_ARGUMENT`): every replica would, so no
    /// other was asked.
    #[error("proof-cache rejected the look-up: {0}")]
    Rejected(ReplicaFailure),
    /// No replica asked gave a verified answer within the attempts and deadline allowed.
    #[error("no proof-cache replica answered ({attempts} tried); last: {last}")]
    Unavailable {
        /// Replicas asked.
        attempts: usize,
        /// The last replica's failure.
        last: ReplicaFailure,
    },
    /// The client options are unusable.
    #[error("invalid cache client options: {0}")]
    InvalidOptions(&'static str),
}

/// One replica's failure.
#[derive(Debug, Error)]
#[error("replica {replica}: {error}")]
#[non_exhaustive]
pub struct ReplicaFailure {
    /// The replica asked.
    pub replica: Replica,
    /// What went wrong.
    pub error: ReplicaError,
}

/// What went wrong with one replica.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReplicaError {
    /// The replica's address makes no gRPC endpoint (e.g. an IPv6 address with a zone id).
    #[error("bad replica address: {0}")]
    Address(String),
    /// The call ended with an error status; connection failures are `UNAVAILABLE`.
    #[error(
        "status {code:?}{}: {message}",
        .reason.map(|r| format!(" {}", r.as_reason())).unwrap_or_default()
    )]
    Status {
        /// The gRPC status code.
        code: Code,
        /// The cache's machine-readable reason, when the status carries one in its domain.
        reason: Option<ErrorReason>,
        /// The status message, with the cause of a transport failure.
        message: String,
    },
    /// No answer within the attempt's time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The response carries no look-up.
    #[error("answer carries no look-up")]
    MissingLookup,
    /// The look-up is malformed (a field of the wrong length, an unknown enum value...).
    #[error("malformed answer: {0}")]
    Malformed(#[from] ConvertError),
    /// The proof does not verify for the name asked, or a value disagrees with it.
    #[error("answer does not verify: {0}")]
    Unverifiable(#[from] VerifyError),
    /// Headers that do not tie the root to proof of work.
    #[error("headers do not verify: {0}")]
    BadHeaders(#[from] hnsfleet_verify::HeaderChainError),
}

/// Whether `status` is tonic's own end of a call whose `grpc-timeout` passed on the client
/// side (`CANCELLED`, with `tonic::TimeoutExpired` in its causes).
pub(crate) fn timed_out(status: &Status) -> bool {
    let mut cause = status.source();
    while let Some(error) = cause {
        if error.is::<tonic::TimeoutExpired>() {
            return true;
        }
        cause = error.source();
    }
    false
}

// === impl CacheClientError ===

impl CacheClientError {
    /// The failure that ended the look-up, if a replica was asked.
    pub fn last_failure(&self) -> Option<&ReplicaFailure> {
        match self {
            Self::Rejected(failure) | Self::Unavailable { last: failure, .. } => Some(failure),
            Self::NoReplicas | Self::InvalidOptions(_) => None,
        }
    }

    /// The replica whose failure ended the look-up.
    pub fn replica(&self) -> Option<Replica> {
        self.last_failure().map(|f| f.replica)
    }

    /// The cache's reason for the failure that ended the look-up (`STALE_EXPIRED`,
    /// `NO_TRUSTED_ROOT`...), if that replica sent one.
    pub fn reason(&self) -> Option<ErrorReason> {
        self.last_failure().and_then(|f| f.error.reason())
    }

    /// The `result` label of [`crate::REQUESTS`] for this error.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::NoReplicas => "no_replicas",
            Self::Rejected(_) => "rejected",
            Self::Unavailable { .. } => "unavailable",
            // Never the result of a look-up (construction only).
            Self::InvalidOptions(_) => "rejected",
        }
    }
}

// === impl ReplicaError ===

impl ReplicaError {
    /// The error a failed call's `status` means. The root cause of a transport failure
    /// (tonic keeps the chain as the status's source: "connection refused", ...) is appended
    /// to the message; the links in between repeat it.
    pub(crate) fn from_status(status: &Status) -> Self {
        let mut message = status.message().to_owned();
        let mut root = status.source();
        while let Some(next) = root.and_then(std::error::Error::source) {
            root = Some(next);
        }
        if let Some(root) = root.map(ToString::to_string)
            && !message.contains(&root)
        {
            message = format!("{message}: {root}");
        }
        Self::Status {
            code: status.code(),
            reason: ErrorReason::of(status),
            message,
        }
    }

    /// Whether the next replica should be asked. Only `INVALID_ARGUMENT` says the request
    /// itself is wrong; every other failure (unreachable, `UNAVAILABLE`, `RESOURCE_EXHAUSTED`,
    /// `DEADLINE_EXCEEDED`, a status outside the contract, an answer that does not verify) is
    /// this replica's, and another may answer. The attempts and the deadline bound the cost.
    pub fn fails_over(&self) -> bool {
        !matches!(
            self,
            Self::Status {
                code: Code::InvalidArgument,
                ..
            }
        )
    }

    /// The gRPC status code, if the replica answered with an error status.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The cache's machine-readable reason, if the replica sent one.
    pub fn reason(&self) -> Option<ErrorReason> {
        match self {
            Self::Status { reason, .. } => *reason,
            _ => None,
        }
    }

    /// The `reason` label of [`crate::ATTEMPT_ERRORS`] for this error.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Status { code, .. } => match code {
                Code::Unavailable => "unavailable",
                Code::ResourceExhausted => "overloaded",
                Code::DeadlineExceeded => "timeout",
                Code::InvalidArgument => "rejected",
                _ => "other",
            },
            Self::Timeout(_) => "timeout",
            Self::MissingLookup
            | Self::Malformed(_)
            | Self::Unverifiable(_)
            | Self::BadHeaders(_) => "unverifiable",
            Self::Address(_) => "other",
        }
    }
}
