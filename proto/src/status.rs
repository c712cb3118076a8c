//! The error contract: every error status a service returns carries a `google.rpc.ErrorInfo`
//! detail with the API's domain ([`ERROR_DOMAIN`] for the follower, [`CACHE_ERROR_DOMAIN`] for
//! the proof-cache) and a machine-readable reason, the name of one of the API's `ErrorReason`
//! values without its `ERROR_REASON_` prefix (`NOT_SYNCED`, ...). Servers build statuses with
//! `ErrorReason::status`; clients read them back with `ErrorReason::of` or, for any domain,
//! [`reason_of`].

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, ErrorInfo, StatusExt};

/// `ErrorInfo.domain` of the follower API's errors.
pub const ERROR_DOMAIN: &str = "hnsfleet.follower.v1";

/// `ErrorInfo.domain` of the proof-cache API's errors.
pub const CACHE_ERROR_DOMAIN: &str = "hnsfleet.cache.v1";

/// Prefix of every `ErrorReason` value name, absent from the reason on the wire.
const PREFIX: &str = "ERROR_REASON_";

/// The same helpers on each API's `ErrorReason` enum, with that API's domain.
macro_rules! error_reason {
    ($reason:ty, $domain:expr) => {
        impl $reason {
            /// The reason as carried in `ErrorInfo.reason` (`NOT_SYNCED`, ...).
            pub fn as_reason(self) -> &'static str {
                let name = self.as_str_name();
                name.strip_prefix(PREFIX).unwrap_or(name)
            }

            /// The value whose wire reason is `reason` (`NOT_SYNCED` → `NotSynced`).
            pub fn from_reason(reason: &str) -> Option<Self> {
                Self::from_str_name(&format!("{PREFIX}{reason}"))
                    .filter(|r| *r != Self::Unspecified)
            }

            /// A status with `code`, `message` and this reason (plus `metadata`) in its
            /// ErrorInfo, in this API's domain.
            pub fn status_with(
                self,
                code: Code,
                message: impl Into<String>,
                metadata: HashMap<String, String>,
            ) -> Status {
                Status::with_error_details(
                    code,
                    message,
                    ErrorDetails::with_error_info(self.as_reason(), $domain, metadata),
                )
            }

            /// A status with `code`, `message` and this reason in its ErrorInfo.
            pub fn status(self, code: Code, message: impl Into<String>) -> Status {
                self.status_with(code, message, HashMap::new())
            }

            /// The reason `status` carries, if its ErrorInfo is in this API's domain and names
            /// a known reason.
            pub fn of(status: &Status) -> Option<Self> {
                let info = status.get_details_error_info()?;
                (info.domain == $domain)
                    .then(|| Self::from_reason(&info.reason))
                    .flatten()
            }
        }
    };
}

error_reason!(crate::follower::v1::ErrorReason, ERROR_DOMAIN);
error_reason!(crate::cache::v1::ErrorReason, CACHE_ERROR_DOMAIN);

/// The `ErrorInfo` detail of `status`, whatever its domain (`None` if it has none).
pub fn error_info(status: &Status) -> Option<ErrorInfo> {
    status.get_details_error_info()
}

/// The machine-readable reason of `status` (`ErrorInfo.reason`), whatever its domain.
pub fn reason_of(status: &Status) -> Option<String> {
    error_info(status).map(|info| info.reason)
}
