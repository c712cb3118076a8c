//! Recursion below the root: hickory's iterative resolver with DNSSEC validation, rooted at the
//! fleet's own HNS root authority.
//!
//! hickory's `Recursor` is given one root address, [`IN_PROCESS_ROOT`], and a connection
//! provider ([`FleetConnections`]) that answers queries to that address from the in-process
//! [`RootAuthority`] (the same answers the `root_listen` port gives) and sends every other query
//! to the network. The trust anchor is the HNS root KSK, so every answer below an HNS TLD, and
//! every ICANN answer (the root re-signs ICANN's DS records, as hsd does), chains to it.
//!
//! What hickory gives: iterative resolution with QNAME minimisation, the chain of trust,
//! NSEC/NSEC3 denial checks, its own delegation and response caches. What this module adds:
//! the in-process root, the policy on upstream addresses, and the translation of hickory's
//! results (answers, negative answers, errors) into a [`Resolved`] answer or a
//! [`ResolveFailure`] with its Extended DNS Error.

use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, Stream, StreamExt};
use hickory_proto::dnssec::{Algorithm, Proof, PublicKeyBuf, TrustAnchors};
use hickory_proto::op::{DnsRequest, DnsResponse, Message, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_resolver::config::ConnectionConfig;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::DnsHandle;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::recursor::{
    DnssecConfig, DnssecPolicy, Recursor, RecursorError, RecursorOptions,
};
use hickory_resolver::{ConnectionProvider, PoolContext};
use thiserror::Error;

use crate::root::RootAuthority;
use crate::wire::{self, Ede};

/// The address hickory believes the root server has; queries to it never leave the process.
/// From TEST-NET-1 (RFC 5737), which no real name server uses.
pub const IN_PROCESS_ROOT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53));

/// A recursive answer: what goes into the response's sections, and whether it validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// NOERROR or NXDOMAIN.
    pub rcode: ResponseCode,
    /// The answer section (with RRSIGs; stripped later for DO=0 clients).
    pub answers: Vec<Record>,
    /// The authority section (SOA and denial records of a negative answer).
    pub authorities: Vec<Record>,
    /// Every record validated from the HNS trust anchor (the AD bit).
    pub secure: bool,
}

/// Why a recursive resolution gave no answer (the client gets SERVFAIL with this EDE).
#[derive(Debug, Clone, Error)]
pub enum ResolveFailure {
    /// DNSSEC validation failed.
    #[error("DNSSEC validation failed: {0}")]
    Bogus(String),
    /// No name server answered in time.
    #[error("no reachable authority: {0}")]
    Unreachable(String),
    /// The root could not answer (chain not ready, caches unreachable).
    #[error("root unavailable: {0}")]
    Root(String),
    /// An upstream answered with an error code or unusable data.
    #[error("upstream failure: {0}")]
    Upstream(String),
}

/// The recursive resolver.
pub struct Recursion {
    recursor: Recursor<FleetConnections>,
    timeout: Duration,
}

/// Connections for hickory: the in-process root, or the network.
#[derive(Clone)]
pub struct FleetConnections {
    root: Arc<RootAuthority>,
    network: TokioRuntimeProvider,
}

/// One of hickory's connections: to the in-process root, or a real one.
#[derive(Clone)]
pub enum FleetConnection {
    /// The in-process root authority.
    Root(Arc<RootAuthority>),
    /// A UDP/TCP exchange with a real name server.
    Network(<TokioRuntimeProvider as ConnectionProvider>::Conn),
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<DnsResponse, NetError>> + Send>>;

// === impl ResolveFailure ===

impl ResolveFailure {
    /// The Extended DNS Error the client gets.
    pub fn ede(&self) -> Ede {
        match self {
            ResolveFailure::Bogus(_) => Ede::DnssecBogus,
            ResolveFailure::Unreachable(_) => Ede::NoReachableAuthority,
            ResolveFailure::Root(text) if text.contains("not ready") => Ede::NotReady,
            ResolveFailure::Root(_) => Ede::NoReachableAuthority,
            ResolveFailure::Upstream(_) => Ede::NetworkError,
        }
    }

    /// The metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            ResolveFailure::Bogus(_) => "bogus",
            ResolveFailure::Unreachable(_) => "unreachable",
            ResolveFailure::Root(_) => "root",
            ResolveFailure::Upstream(_) => "upstream",
        }
    }
}

// === impl Recursion ===

impl Recursion {
    /// A validating recursor rooted at `root`. With `allow_private_upstreams`, name servers
    /// at loopback and private addresses may be queried (labs and tests); otherwise hickory's
    /// recommended deny list applies.
    pub fn new(
        root: Arc<RootAuthority>,
        allow_private_upstreams: bool,
        timeout: Duration,
    ) -> anyhow::Result<Recursion> {
        let mut anchors = TrustAnchors::empty();
        anchors.insert(&PublicKeyBuf::new(
            hnsfleet_root_zone::KSK_PUBLIC_KEY.to_vec(),
            Algorithm::ECDSAP256SHA256,
        ));
        let mut dnssec = DnssecConfig::default();
        dnssec.trust_anchor = Some(Arc::new(anchors));
        let mut options = RecursorOptions::default();
        if allow_private_upstreams {
            options.deny_server = Vec::new();
        }
        let connections = FleetConnections {
            root,
            network: TokioRuntimeProvider::default(),
        };
        let recursor = Recursor::new(
            &[IN_PROCESS_ROOT],
            DnssecPolicy::ValidateWithStaticKey(dnssec),
            None,
            options,
            connections,
        )
        .map_err(|e| anyhow::anyhow!("cannot build the recursor: {e}"))?;
        Ok(Recursion { recursor, timeout })
    }

    /// Resolves `name`/`qtype` (class IN) within the configured deadline.
    pub async fn resolve(
        &self,
        name: &Name,
        qtype: RecordType,
    ) -> Result<Resolved, ResolveFailure> {
        let query = hickory_proto::op::Query::query(name.clone(), qtype);
        let resolution = self.recursor.resolve(query, Instant::now(), true);
        match tokio::time::timeout(self.timeout, resolution).await {
            Err(_) => Err(ResolveFailure::Unreachable(format!(
                "no answer within {:?}",
                self.timeout
            ))),
            Ok(Ok(message)) => positive(message),
            Ok(Err(error)) => negative(error),
        }
    }
}

/// A message hickory returned: an answer, or (with an error code) a failure.
fn positive(message: Message) -> Result<Resolved, ResolveFailure> {
    match message.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        other => return Err(ResolveFailure::Upstream(format!("upstream said {other}"))),
    }
    let all = || message.answers.iter().chain(message.authorities.iter());
    if all().any(|r| r.proof == Proof::Bogus) {
        return Err(ResolveFailure::Bogus("a record did not validate".into()));
    }
    let secure = all().next().is_some() && all().all(|r| r.proof == Proof::Secure);
    Ok(Resolved {
        rcode: message.response_code,
        answers: message.answers,
        authorities: message.authorities,
        secure,
    })
}

/// hickory returns NXDOMAIN and NODATA as errors; turn those back into answers.
fn negative(error: RecursorError) -> Result<Resolved, ResolveFailure> {
    match error {
        RecursorError::Negative(data) => {
            let rcode = if data.is_nx_domain() {
                ResponseCode::NXDomain
            } else {
                ResponseCode::NoError
            };
            let soa = data
                .soa
                .as_ref()
                .map(|soa| soa.as_ref().clone().into_record_of_rdata());
            let more = data.authorities.as_deref().unwrap_or_default();
            let authorities = soa_and_authorities(soa, more);
            negative_answer(rcode, authorities)
        }
        RecursorError::Net(net) => net_failure(net),
        RecursorError::Timeout => Err(ResolveFailure::Unreachable("timed out".into())),
        other => Err(ResolveFailure::Upstream(other.to_string())),
    }
}

fn net_failure(error: NetError) -> Result<Resolved, ResolveFailure> {
    match error {
        NetError::Dns(DnsError::NoRecordsFound(none)) => {
            let soa = none
                .soa
                .as_ref()
                .map(|soa| soa.as_ref().clone().into_record_of_rdata());
            let more = none.authorities.as_deref().unwrap_or_default();
            let authorities = soa_and_authorities(soa, more);
            negative_answer(none.response_code, authorities)
        }
        NetError::Dns(DnsError::Nsec {
            response, proof, ..
        }) => {
            if proof == Proof::Bogus {
                return Err(ResolveFailure::Bogus("denial of existence".into()));
            }
            let message = response.into_message();
            Ok(Resolved {
                rcode: message.response_code,
                answers: Vec::new(),
                authorities: message.authorities,
                secure: proof == Proof::Secure,
            })
        }
        NetError::Dns(DnsError::DnssecBogus) => {
            Err(ResolveFailure::Bogus("validation failed".into()))
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            Err(ResolveFailure::Upstream(format!("upstream said {code}")))
        }
        NetError::Timeout | NetError::NoConnections => {
            Err(ResolveFailure::Unreachable(error.to_string()))
        }
        other => {
            let text = other.to_string();
            if text.contains("ogus") || text.contains("DNSSEC") || text.contains("proof") {
                Err(ResolveFailure::Bogus(text))
            } else {
                Err(ResolveFailure::Upstream(text))
            }
        }
    }
}

/// The authority section of a negative answer: hickory hands the SOA on its own and, most of
/// the time, among the authorities too. It goes out once (a duplicate in an RRset breaks its
/// signature for validators that do not drop it), as the validated copy when one is.
fn soa_and_authorities(soa: Option<Record>, more: &[Record]) -> Vec<Record> {
    let mut authorities = more.to_vec();
    let Some(soa) = soa else {
        return authorities;
    };
    let same = |r: &Record| {
        r.record_type() == soa.record_type()
            && r.dns_class == soa.dns_class
            && r.name == soa.name
            && r.data == soa.data
    };
    match authorities.iter_mut().find(|r| same(r)) {
        Some(copy) if copy.proof != Proof::Secure && soa.proof == Proof::Secure => *copy = soa,
        Some(_) => {}
        None => authorities.insert(0, soa),
    }
    authorities
}

fn negative_answer(
    rcode: ResponseCode,
    authorities: Vec<Record>,
) -> Result<Resolved, ResolveFailure> {
    if authorities.iter().any(|r| r.proof == Proof::Bogus) {
        return Err(ResolveFailure::Bogus("denial of existence".into()));
    }
    let secure = !authorities.is_empty() && authorities.iter().all(|r| r.proof == Proof::Secure);
    Ok(Resolved {
        rcode,
        answers: Vec::new(),
        authorities,
        secure,
    })
}

// === impl FleetConnections ===

impl ConnectionProvider for FleetConnections {
    type Conn = FleetConnection;
    type FutureConn =
        Pin<Box<dyn std::future::Future<Output = Result<FleetConnection, NetError>> + Send>>;
    type RuntimeProvider = TokioRuntimeProvider;

    fn new_connection(
        &self,
        ip: IpAddr,
        config: &ConnectionConfig,
        cx: &PoolContext,
    ) -> Result<Self::FutureConn, NetError> {
        if ip == IN_PROCESS_ROOT {
            let root = Arc::clone(&self.root);
            return Ok(Box::pin(async move { Ok(FleetConnection::Root(root)) }));
        }
        let connecting = self.network.new_connection(ip, config, cx)?;
        Ok(Box::pin(async move {
            connecting.await.map(FleetConnection::Network)
        }))
    }

    fn runtime_provider(&self) -> &Self::RuntimeProvider {
        &self.network
    }
}

// === impl FleetConnection ===

impl DnsHandle for FleetConnection {
    type Response = ResponseStream;
    type Runtime = TokioRuntimeProvider;

    fn is_verifying_dnssec(&self) -> bool {
        false
    }

    fn send(&self, request: DnsRequest) -> Self::Response {
        match self {
            FleetConnection::Network(exchange) => Box::pin(exchange.send(request)),
            FleetConnection::Root(root) => {
                let root = Arc::clone(root);
                Box::pin(stream::once(async move { ask_root(&root, request).await }).fuse())
            }
        }
    }
}

/// Answers one of hickory's root queries in process.
async fn ask_root(root: &RootAuthority, request: DnsRequest) -> Result<DnsResponse, NetError> {
    let (message, _) = request.into_parts();
    let query = message
        .queries
        .first()
        .cloned()
        .ok_or(NetError::Message("root query without a question"))?;
    let request = wire::Request { message, query };
    let response = root.respond(&request, 4096).await;
    if response.response_code == ResponseCode::ServFail {
        let why = wire::ede_of(&response)
            .map(|(_, text)| text)
            .unwrap_or_else(|| "root failure".into());
        return Err(NetError::Msg(why));
    }
    DnsResponse::from_message(response).map_err(NetError::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::SOA;

    use super::*;

    #[test]
    fn a_negative_answer_carries_its_soa_once_keeping_the_validated_copy() {
        let soa = |proof| {
            let zone = Name::from_ascii("fleetns.").unwrap();
            let rdata = SOA::new(zone.clone(), zone.clone(), 1, 3600, 900, 604_800, 300);
            let mut record = Record::from_rdata(zone, 300, RData::SOA(rdata));
            record.proof = proof;
            record
        };
        let other = {
            let mut record = soa(Proof::Secure);
            record.name = Name::from_ascii("other.").unwrap();
            record
        };
        // The SOA on its own and among the authorities: once, the validated copy.
        let authorities = soa_and_authorities(
            Some(soa(Proof::Indeterminate)),
            &[soa(Proof::Secure), other.clone()],
        );
        let resolved = negative_answer(ResponseCode::NXDomain, authorities).unwrap();
        assert_eq!(resolved.authorities.len(), 2);
        assert_eq!(resolved.authorities[0].proof, Proof::Secure);
        assert_eq!(resolved.authorities[1], other);
        assert!(resolved.secure);
        // Only on its own: it leads the section.
        let alone = soa_and_authorities(Some(soa(Proof::Secure)), std::slice::from_ref(&other));
        assert_eq!(alone.len(), 2);
        assert_eq!(alone[0].record_type(), RecordType::SOA);
        // Validated on its own only: that copy replaces the other.
        let kept = soa_and_authorities(Some(soa(Proof::Secure)), &[soa(Proof::Indeterminate)]);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].proof, Proof::Secure);
        assert!(resolved.secure);
    }
}
