//! The one error mapping: every failure has its gRPC code and `ErrorInfo` reason, and the
//! reasons the server-wide layer gives are in the contract.

use std::time::Duration;

use super::*;

#[test]
fn every_failure_has_its_code_and_reason() {
    let cases = [
        (
            ApiError::InvalidName {
                name: "a..b".into(),
                reason: "bad".into(),
            },
            Code::InvalidArgument,
            "INVALID_NAME",
        ),
        (
            LookupFailure::NotSynced("no root".into()).into(),
            Code::Unavailable,
            "NOT_SYNCED",
        ),
        (
            LookupFailure::NoPeers(5).into(),
            Code::Unavailable,
            "NO_PEERS",
        ),
        (
            LookupFailure::Timeout(Duration::from_secs(5)).into(),
            Code::Unavailable,
            "PROOF_TIMEOUT",
        ),
        (
            LookupFailure::AllFailed("gone".into()).into(),
            Code::Unavailable,
            "ALL_PEERS_FAILED",
        ),
        (
            ApiError::TooManyWatchers(3),
            Code::ResourceExhausted,
            "TOO_MANY_WATCHERS",
        ),
        (ApiError::Draining, Code::Unavailable, "DRAINING"),
    ];
    for (error, code, reason) in cases {
        let status = status_of(&error);
        assert_eq!(status.code(), code, "{error}");
        assert_eq!(status.message(), error.to_string());
        assert_eq!(
            hnsfleet_proto::status::reason_of(&status).as_deref(),
            Some(reason)
        );
        assert_eq!(
            ErrorReason::of(&status).map(ErrorReason::as_reason),
            Some(reason)
        );
    }
    // The reasons the server-wide layer gives are in the contract too.
    use hnsfleet_service_kit::grpc::{REASON_DEADLINE_EXCEEDED, REASON_OVERLOADED};
    assert_eq!(
        ErrorReason::from_reason(REASON_OVERLOADED),
        Some(ErrorReason::Overloaded)
    );
    assert_eq!(
        ErrorReason::from_reason(REASON_DEADLINE_EXCEEDED),
        Some(ErrorReason::DeadlineExceeded)
    );
}
