//! Who may lift a freeze. `Unfreeze` overrides the fleet's protection against a deep
//! reorganisation, so a stranger who reaches the gRPC port must not be able to call it:
//! - with `unfreeze_token_file` set, every caller sends `authorization: Bearer TOKEN`; the
//!   file is read at every call (a rotated Secret takes effect at once) and compared in
//!   constant time;
//! - without it, only a caller on a loopback address is accepted (an operator in the pod,
//!   `kubectl exec`, or `hnsfleet up` on one machine).
//!
//! A refusal says which rule refused, never anything about the token.

use std::net::SocketAddr;
use std::path::PathBuf;

use subtle::ConstantTimeEq;
use thiserror::Error;

/// Shortest token accepted in the token file.
pub const MIN_TOKEN_LEN: usize = 16;

/// The rule `Unfreeze` callers are held to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnfreezeAuth {
    /// Callers on a loopback address only.
    LoopbackOnly,
    /// Callers presenting the token in this file.
    Token(PathBuf),
}

/// Why a caller was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Denied {
    /// No token configured and the caller is not on loopback.
    #[error("unfreeze is accepted from loopback only (no unfreeze_token_file is set)")]
    NotLoopback,
    /// The caller sent no `authorization: Bearer` header.
    #[error("unfreeze needs an operator token (authorization: Bearer ...)")]
    NoToken,
    /// The caller's token is not the configured one.
    #[error("wrong unfreeze token")]
    WrongToken,
    /// The token file cannot be used (logged; the caller is refused).
    #[error("the unfreeze token file cannot be used: {0}")]
    TokenFile(String),
}

impl UnfreezeAuth {
    /// The rule from the `unfreeze_token_file` setting.
    pub fn new(token_file: Option<PathBuf>) -> UnfreezeAuth {
        token_file.map_or(UnfreezeAuth::LoopbackOnly, UnfreezeAuth::Token)
    }

    /// Checks a caller at `peer` that sent `authorization` (the header's value, if any).
    pub async fn check(
        &self,
        peer: Option<SocketAddr>,
        authorization: Option<&str>,
    ) -> Result<(), Denied> {
        match self {
            UnfreezeAuth::LoopbackOnly => match peer {
                Some(peer) if peer.ip().is_loopback() => Ok(()),
                _ => Err(Denied::NotLoopback),
            },
            UnfreezeAuth::Token(path) => {
                let text = tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| Denied::TokenFile(format!("{}: {e}", path.display())))?;
                let expected = text.trim();
                if expected.len() < MIN_TOKEN_LEN {
                    return Err(Denied::TokenFile(format!(
                        "{}: shorter than {MIN_TOKEN_LEN} characters",
                        path.display()
                    )));
                }
                let given = authorization
                    .and_then(|value| value.strip_prefix("Bearer "))
                    .map(str::trim)
                    .ok_or(Denied::NoToken)?;
                if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                    Ok(())
                } else {
                    Err(Denied::WrongToken)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 40000))
    }

    #[tokio::test]
    async fn without_a_token_only_loopback_callers_pass() {
        let auth = UnfreezeAuth::new(None);
        assert_eq!(auth.check(at("127.0.0.1"), None).await, Ok(()));
        assert_eq!(auth.check(at("::1"), None).await, Ok(()));
        for stranger in ["10.0.0.7", "192.0.2.1", "fd00::1"] {
            assert_eq!(
                auth.check(at(stranger), Some("Bearer anything-at-all-here"))
                    .await,
                Err(Denied::NotLoopback)
            );
        }
        // A caller whose address is unknown is no loopback caller.
        assert_eq!(auth.check(None, None).await, Err(Denied::NotLoopback));
    }

    #[tokio::test]
    async fn with_a_token_every_caller_needs_it_and_the_file_is_read_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "first-operator-token-0001\n").unwrap();
        let auth = UnfreezeAuth::new(Some(file.clone()));
        let good = Some("Bearer first-operator-token-0001");
        assert_eq!(auth.check(at("10.0.0.7"), good).await, Ok(()));
        // Loopback is no excuse once a token is configured.
        assert_eq!(
            auth.check(at("127.0.0.1"), None).await,
            Err(Denied::NoToken)
        );
        assert_eq!(
            auth.check(at("127.0.0.1"), Some("first-operator-token-0001"))
                .await,
            Err(Denied::NoToken)
        );
        assert_eq!(
            auth.check(at("127.0.0.1"), Some("Bearer first-operator-token-0002"))
                .await,
            Err(Denied::WrongToken)
        );
        assert_eq!(
            auth.check(at("127.0.0.1"), Some("Bearer first")).await,
            Err(Denied::WrongToken)
        );
        // Rotated in place: the old token stops working at once.
        std::fs::write(&file, "second-operator-token-02").unwrap();
        assert_eq!(
            auth.check(at("127.0.0.1"), good).await,
            Err(Denied::WrongToken)
        );
        assert_eq!(
            auth.check(at("127.0.0.1"), Some("Bearer second-operator-token-02"))
                .await,
            Ok(())
        );
        // A token file too short to be a secret, or gone, refuses everyone.
        std::fs::write(&file, "short").unwrap();
        assert!(matches!(
            auth.check(at("127.0.0.1"), Some("Bearer short")).await,
            Err(Denied::TokenFile(_))
        ));
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(
            auth.check(at("127.0.0.1"), good).await,
            Err(Denied::TokenFile(_))
        ));
    }
}
