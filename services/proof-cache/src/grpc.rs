//! The gRPC face of the proof-cache (`proto/hnsfleet/cache/v1`). Every failure is an
//! [`ApiError`] that one function, [`ApiError::classify`], maps to a gRPC code and an
//! `ErrorInfo` reason in domain `hnsfleet.cache.v1`.

use std::collections::HashMap;
use std::sync::Arc;

use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::name::Name;
use hnsfleet_proto::cache::v1 as pb;
use hnsfleet_proto::cache::v1::ErrorReason;
use hnsfleet_proto::cache::v1::proof_cache_service_server::ProofCacheService;
use hnsfleet_proto::follower::v1 as follower_pb;
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};
use tracing::Instrument;

use crate::cache::{LookupError, ProofCache};
use crate::followers::FetchError;

/// Why a call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The name is not a valid top-level name.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name as sent.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The look-up failed (nothing unverified is returned instead).
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// GetHeaders without a well-formed root.
    #[error("invalid root: {0}")]
    InvalidRoot(String),
    /// The cache is shutting down.
    #[error("proof-cache is shutting down")]
    Draining,
}

/// The `ProofCacheService` implementation.
#[derive(Debug, Clone)]
pub struct CacheApi {
    cache: Arc<ProofCache>,
    shutdown: CancellationToken,
}

// === impl ApiError ===

impl ApiError {
    /// The gRPC code and `ErrorInfo` reason of this error; the one place that decides them.
    pub fn classify(&self) -> (Code, ErrorReason) {
        match self {
            ApiError::InvalidName { .. } => (Code::InvalidArgument, ErrorReason::InvalidName),
            ApiError::Lookup(LookupError::NoTrustedRoot { .. }) => {
                (Code::Unavailable, ErrorReason::NoTrustedRoot)
            }
            ApiError::Lookup(LookupError::StaleExpired(_)) => {
                (Code::Unavailable, ErrorReason::StaleExpired)
            }
            ApiError::Lookup(LookupError::Followers(_)) => {
                (Code::Unavailable, ErrorReason::FollowersUnavailable)
            }
            ApiError::InvalidRoot(_) => (Code::InvalidArgument, ErrorReason::InvalidRoot),
            ApiError::Draining => (Code::Unavailable, ErrorReason::Draining),
        }
    }

    /// The gRPC status: code and reason from [`ApiError::classify`], the error's text as the
    /// message, and metadata where the contract names some.
    pub fn status(&self) -> Status {
        let (code, reason) = self.classify();
        let mut metadata = HashMap::new();
        match self {
            ApiError::Lookup(LookupError::StaleExpired(d)) => {
                metadata.insert("stale_for_ms".into(), d.as_millis().to_string());
            }
            ApiError::Lookup(LookupError::Followers(e)) => {
                let last = match e {
                    FetchError::AllFailed(last) => last.clone(),
                    other => other.to_string(),
                };
                metadata.insert("last_error".into(), last);
            }
            _ => {}
        }
        reason.status_with(code, self.to_string(), metadata)
    }
}

// === impl CacheApi ===

impl CacheApi {
    /// Serves `cache`; on `shutdown`, new calls are refused with `DRAINING`.
    pub fn new(cache: Arc<ProofCache>, shutdown: CancellationToken) -> Self {
        CacheApi { cache, shutdown }
    }
}

#[tonic::async_trait]
impl ProofCacheService for CacheApi {
    async fn lookup_name(
        &self,
        request: Request<pb::LookupNameRequest>,
    ) -> Result<Response<pb::LookupNameResponse>, Status> {
        if self.shutdown.is_cancelled() {
            return Err(ApiError::Draining.status());
        }
        let raw = request.into_inner().name;
        let name = Name::parse(&raw).map_err(|e| {
            ApiError::InvalidName {
                name: raw.clone(),
                reason: e.to_string(),
            }
            .status()
        })?;
        let span = tracing::debug_span!("lookup", name = name.as_str());
        let answer = self
            .cache
            .lookup(&name)
            .instrument(span)
            .await
            .map_err(|e| ApiError::Lookup(e).status())?;
        let age = answer.entry.verified_at.elapsed();
        Ok(Response::new(pb::LookupNameResponse {
            lookup: Some(answer.entry.lookup.clone()),
            from_cache: answer.from_cache,
            age_millis: u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
            stale: answer.stale,
        }))
    }

    async fn get_headers(
        &self,
        request: Request<pb::GetHeadersRequest>,
    ) -> Result<Response<pb::GetHeadersResponse>, Status> {
        if self.shutdown.is_cancelled() {
            return Err(ApiError::Draining.status());
        }
        let wire = request
            .into_inner()
            .root
            .ok_or_else(|| ApiError::InvalidRoot("no root given".into()).status())?;
        let root =
            SafeRoot::try_from(&wire).map_err(|e| ApiError::InvalidRoot(e.to_string()).status())?;
        let (first_height, headers) = self
            .cache
            .followers()
            .headers(root)
            .instrument(tracing::debug_span!("headers", height = root.height))
            .await
            .map_err(|e| ApiError::Lookup(LookupError::Followers(e)).status())?;
        Ok(Response::new(pb::GetHeadersResponse {
            chain: Some(follower_pb::HeaderChain {
                first_height,
                headers: headers.iter().map(|h| h.encode().to_vec()).collect(),
            }),
        }))
    }

    async fn get_trusted_root(
        &self,
        _: Request<pb::GetTrustedRootRequest>,
    ) -> Result<Response<pb::GetTrustedRootResponse>, Status> {
        let followers = self.cache.followers();
        let snapshot = followers.snapshot();
        let trusted_root = snapshot.root.map(|root| pb::TrustedRoot {
            root: Some(follower_pb::SafeRoot::from(&root)),
            source: if snapshot.imposed {
                pb::TrustSource::Imposed
            } else {
                pb::TrustSource::Quorum
            } as i32,
            agreeing: u32::try_from(snapshot.agreeing).unwrap_or(u32::MAX),
            followers: u32::try_from(followers.len()).unwrap_or(u32::MAX),
            quorum: u32::try_from(snapshot.quorum).unwrap_or(u32::MAX),
            stale: snapshot.stale,
            stale_for_millis: if snapshot.stale {
                u64::try_from(snapshot.unconfirmed_for.as_millis()).unwrap_or(u64::MAX)
            } else {
                0
            },
        });
        Ok(Response::new(pb::GetTrustedRootResponse {
            trusted_root,
            network: follower_pb::Network::from(followers.network()) as i32,
        }))
    }
}
