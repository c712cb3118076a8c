//! The request pipeline every transport shares: bytes in, bytes out.
//!
//! [`Frontend::handle`] parses the request ([`crate::wire`]), answers it as the full resolver
//! (answer cache, then recursion) or as the HNS root alone, builds the response (RA, AD, the
//! client's DO, EDE on failures), encodes it within the transport's size limit, signs it with
//! SIG(0) when configured, and records the metrics. Listeners only move bytes.
//!
//! In front of all that sits a packet cache ([`hnsfleet_packet_cache`]): a query whose exact
//! bytes (ID aside) were answered before is answered from the stored response with its ID and
//! TTLs patched, without decoding, looking up or encoding anything, and
//! without a task: [`Frontend::answer_cached`] is synchronous so the UDP listener calls it
//! inline and spawns [`Frontend::handle_uncached`] only on a miss. Only answers that are
//! verified and final are stored (NOERROR/NXDOMAIN, no EDE, not stale, not truncated); the
//! root's entries are forgotten when the trusted root changes, and nothing is served from it
//! while the frontend is not ready. SIG(0) is applied after the cache, per response.
//!
//! In front of that, for UDP only, response rate limiting ([`crate::rrl`], through
//! [`Frontend::admit`]): a datagram over its client prefix's limit costs one table look-up.
//!
//! The resolver's answers are minimal: a positive answer carries its answer section alone
//! (no authority NS or SOA, no additional glue), plus, for DO=1 clients, the NSEC/NSEC3
//! records (and their RRSIGs) that prove a wildcard expansion. ANY gets the RFC 8482 §4.2
//! answer (one synthesized HINFO "RFC8482" record) without any resolution; the root answers
//! ANY as hsd's root does.
//!
//! On encrypted transports ([`Transport::is_encrypted`]) a response to a query that carried an
//! EDNS Padding option is padded to a multiple of 468 octets (RFC 8467 §4.1), SIG(0) included;
//! see `Frontend::encode`.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::HINFO;
use hickory_proto::rr::rdata::opt::EdnsCode;
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use hnsfleet_packet_cache::{Key, PacketCache};
use prometheus::{Histogram, IntCounter};
use tokio::sync::Semaphore;

use crate::answers::{AnswerCache, Served};
use crate::metrics::{Metrics, qtype_label, rcode_label};
use crate::recursion::{Recursion, Resolved};
use crate::root::RootAuthority;
use crate::rrl::{Admit, Rrl};
use crate::sig0::{Signed, Signer};
use crate::wire::{self, Ede, Parsed, Request, Transport};

/// Which service a listener offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The full resolver: HNS and ICANN names, recursion, RA=1.
    Resolver,
    /// The HNS root authority alone (RA=0), for resolvers that use the fleet as their root.
    Root,
}

impl Service {
    /// The `service` label of the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Resolver => "resolver",
            Service::Root => "root",
        }
    }

    fn index(self) -> usize {
        match self {
            Service::Resolver => 0,
            Service::Root => 1,
        }
    }
}

/// Every transport, in the order of [`transport_index`].
const TRANSPORTS: [Transport; 6] = [
    Transport::Udp,
    Transport::Tcp,
    Transport::Tls,
    Transport::Https,
    Transport::Https3,
    Transport::Quic,
];

fn transport_index(transport: Transport) -> usize {
    match transport {
        Transport::Udp => 0,
        Transport::Tcp => 1,
        Transport::Tls => 2,
        Transport::Https => 3,
        Transport::Https3 => 4,
        Transport::Quic => 5,
    }
}

/// The packet-cache variant of a (transport, service) pair: their encoded answers differ
/// (size limits, SIG(0) room, RA).
fn variant(transport: Transport, service: Service) -> u8 {
    // At most 6 x 2 = 12 values: always fits.
    (transport_index(transport) * 2 + service.index()) as u8
}

/// Metric handles resolved once, for the per-query path.
struct HotMetrics {
    latency: [[Histogram; 2]; 6],
    packet_hit: IntCounter,
    packet_miss: IntCounter,
}

impl HotMetrics {
    fn new(metrics: &Metrics) -> HotMetrics {
        let latency = TRANSPORTS.map(|transport| {
            [Service::Resolver, Service::Root].map(|service| {
                metrics
                    .latency
                    .with_label_values(&[transport.as_str(), service.as_str()])
            })
        });
        HotMetrics {
            latency,
            packet_hit: metrics.packet_cache.with_label_values(&["hit"]),
            packet_miss: metrics.packet_cache.with_label_values(&["miss"]),
        }
    }

    fn latency(&self, transport: Transport, service: Service) -> &Histogram {
        &self.latency[transport_index(transport)][service.index()]
    }
}

/// Which transports get SIG(0) (Do53 UDP and TCP always, when a key is configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignOn {
    /// Sign DoT and DoQ responses (`sig0_dot`).
    pub tls: bool,
    /// Sign DoH responses, over HTTP/2 and HTTP/3 (`sig0_doh`).
    pub https: bool,
}

/// The shared pipeline. Cheap to share (`Arc`).
pub struct Frontend {
    root: Arc<RootAuthority>,
    recursion: Arc<Recursion>,
    answers: AnswerCache,
    signer: Option<Signer>,
    sign_on: SignOn,
    udp_payload: u16,
    ready: AtomicBool,
    in_flight: Semaphore,
    /// Packet caches of the resolver and of the root (indexed by [`Service::index`]); each
    /// entry carries its `queries_total` counter.
    packets: [PacketCache<IntCounter>; 2],
    rrl: Option<Rrl>,
    metrics: Metrics,
    hot: HotMetrics,
}

/// Everything [`Frontend::new`] needs.
pub struct Parts {
    /// The root authority.
    pub root: Arc<RootAuthority>,
    /// Recursion below the root.
    pub recursion: Arc<Recursion>,
    /// The answer cache.
    pub answers: AnswerCache,
    /// The SIG(0) signer, if a key is configured.
    pub signer: Option<Signer>,
    /// Encrypted transports that are signed too.
    pub sign_on: SignOn,
    /// Our EDNS0 UDP payload size.
    pub udp_payload: u16,
    /// Queries being answered at once (resolver and root).
    pub max_in_flight: usize,
    /// Bytes each packet cache (resolver, root) may hold; 0 turns them off.
    pub packet_cache_capacity: u64,
    /// Response rate limiting on UDP (`None`: off).
    pub rrl: Option<Rrl>,
    /// Metrics.
    pub metrics: Metrics,
}

impl Frontend {
    /// The pipeline over `parts`; not ready until [`Frontend::set_ready`].
    pub fn new(parts: Parts) -> Frontend {
        Frontend {
            root: parts.root,
            recursion: parts.recursion,
            answers: parts.answers,
            signer: parts.signer,
            sign_on: parts.sign_on,
            udp_payload: parts.udp_payload,
            ready: AtomicBool::new(false),
            in_flight: Semaphore::new(parts.max_in_flight),
            packets: [(); 2].map(|()| {
                PacketCache::new(hnsfleet_packet_cache::Limits {
                    capacity_bytes: parts.packet_cache_capacity,
                    max_lifetime: PACKET_MAX_LIFETIME,
                })
            }),
            rrl: parts.rrl,
            hot: HotMetrics::new(&parts.metrics),
            metrics: parts.metrics,
        }
    }

    /// Forgets what was built from the previous trusted root (root answers, their packets).
    pub fn root_changed(&self) {
        self.root.root_changed();
        self.packets[Service::Root.index()].clear();
    }

    /// Whether a trusted root is known (verified data can be served).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Records whether a trusted root is known.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// The root authority.
    pub fn root(&self) -> &Arc<RootAuthority> {
        &self.root
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether a UDP datagram from `client` is answered, over the response rate limit of its
    /// prefix (an empty TC=1 reply, or nothing), before anything else is done with it.
    pub fn admit(&self, bytes: &[u8], client: IpAddr) -> Admit {
        match &self.rrl {
            Some(rrl) => rrl.admit(bytes, client),
            None => Admit::Answer,
        }
    }

    /// Answers `bytes` received from `client` over `transport`; `None` means send nothing.
    pub async fn handle(
        &self,
        bytes: &[u8],
        transport: Transport,
        client: IpAddr,
        service: Service,
    ) -> Option<Vec<u8>> {
        if let Some(answer) = self.answer_cached(bytes, transport, client, service) {
            return Some(answer);
        }
        self.handle_uncached(bytes, transport, client, service)
            .await
    }

    /// The answer to `bytes` from the packet cache, signed when configured, if it holds one;
    /// `None` means "not cached" (call [`Frontend::handle_uncached`]). Never waits.
    pub fn answer_cached(
        &self,
        bytes: &[u8],
        transport: Transport,
        client: IpAddr,
        service: Service,
    ) -> Option<Vec<u8>> {
        let started = Instant::now();
        let out = self.answer_cached_at(bytes, transport, client, service, started)?;
        self.hot
            .latency(transport, service)
            .observe(started.elapsed().as_secs_f64());
        Some(out)
    }

    /// [`Frontend::answer_cached`] with the clock read by the caller (`now`), and without
    /// recording the answer's latency: a caller answering a batch reads the clock once for
    /// all of it and records the batch's time for each answer ([`Frontend::latency_histogram`]).
    pub fn answer_cached_at(
        &self,
        bytes: &[u8],
        transport: Transport,
        client: IpAddr,
        service: Service,
        now: Instant,
    ) -> Option<Vec<u8>> {
        let cache = &self.packets[service.index()];
        if !cache.is_enabled() || !self.is_ready() {
            return None;
        }
        let key = Key::of(variant(transport, service), bytes)?;
        let spare = if self.signer_for(transport).is_some() {
            hnsfleet_hns::sig0::SIG_RR_SIZE
        } else {
            0
        };
        let Some((response, queries)) = cache.get_at(&key, bytes, now, spare) else {
            self.hot.packet_miss.inc();
            return None;
        };
        self.hot.packet_hit.inc();
        queries.inc();
        self.sign(response, transport, client)
    }

    /// The histogram of answer latencies (`query_duration_seconds`) for `transport` and
    /// `service`.
    pub fn latency_histogram(&self, transport: Transport, service: Service) -> &Histogram {
        self.hot.latency(transport, service)
    }

    /// Answers `bytes` without looking in the packet cache (stores the answer there when it is
    /// final); `None` means send nothing.
    pub async fn handle_uncached(
        &self,
        bytes: &[u8],
        transport: Transport,
        client: IpAddr,
        service: Service,
    ) -> Option<Vec<u8>> {
        let started = Instant::now();
        let (response, udp_limit, cacheable, padded) = match wire::parse(bytes) {
            Parsed::Drop => {
                self.metrics.dropped.with_label_values(&["malformed"]).inc();
                return None;
            }
            Parsed::Reply(reply) => (*reply, wire::CLASSIC_UDP_LIMIT, false, false),
            // A proof bundle never fits a UDP payload: an empty TC=1 reply at once, before any
            // work, and the client asks again over TCP (which carries it).
            Parsed::Query(request)
                if transport == Transport::Udp
                    && service == Service::Resolver
                    && crate::bundle::wants_bundle(&request) =>
            {
                let mut response = request.response(ResponseCode::NoError, self.udp_payload);
                response.metadata.recursion_available = true;
                response.metadata.truncation = true;
                let limit = request.udp_limit(self.udp_payload);
                (response, limit, false, false)
            }
            Parsed::Query(request) => {
                // Every query that may wait on an upstream holds a permit: a flood gets
                // SERVFAIL at once instead of piling up tasks and memory.
                let (response, cacheable) = match self.in_flight.try_acquire() {
                    Err(_) => {
                        self.metrics.overloaded.inc();
                        let mut response =
                            request.response(ResponseCode::ServFail, self.udp_payload);
                        wire::add_ede(&mut response, Ede::Other, "overloaded");
                        (response, false)
                    }
                    Ok(_permit) => {
                        self.metrics.in_flight.inc();
                        let response = match service {
                            Service::Root => {
                                let response = self.root.respond(&request, self.udp_payload).await;
                                let cacheable =
                                    self.is_ready() && wire::ede_of(&response).is_none();
                                (response, cacheable)
                            }
                            Service::Resolver => self.resolve(&request).await,
                        };
                        self.metrics.in_flight.dec();
                        response
                    }
                };
                let padded = request.wants_padding();
                (
                    response,
                    request.udp_limit(self.udp_payload),
                    cacheable,
                    padded,
                )
            }
        };
        let qtype = response
            .queries
            .first()
            .map_or("other", |q| qtype_label(q.query_type()));
        let queries = self.metrics.queries.with_label_values(&[
            transport.as_str(),
            service.as_str(),
            qtype,
            rcode_label(response.response_code),
        ]);
        queries.inc();
        let encoded = self.encode(&response, transport, udp_limit, padded)?;
        if cacheable && let Some(key) = Key::of(variant(transport, service), bytes) {
            // Refusals (truncated, too short a TTL, ...) just mean "not stored".
            let _ = self.packets[service.index()].insert(&key, &encoded, queries);
        }
        let out = self.sign(encoded, transport, client);
        self.hot
            .latency(transport, service)
            .observe(started.elapsed().as_secs_f64());
        out
    }

    /// The SIG(0) signer for `transport`, if its responses are signed.
    fn signer_for(&self, transport: Transport) -> Option<&Signer> {
        self.signer.as_ref().filter(|_| match transport {
            Transport::Udp | Transport::Tcp => true,
            Transport::Tls | Transport::Quic => self.sign_on.tls,
            Transport::Https | Transport::Https3 => self.sign_on.https,
        })
    }

    /// Encodes within the transport's limit, leaving room for a SIG(0) record when one will
    /// be added; pads (RFC 8467 block policy) when the query asked for it (`padded`) and the
    /// transport is encrypted, so that the message *with* its SIG(0) lands on the block.
    ///
    /// Padding happens here, on the encoded bytes, so the packet cache stores the padded form
    /// (its key holds the query's bytes, Padding option included, and the transport, so an
    /// unpadded query or a UDP one never gets it) and SIG(0), applied after the cache, covers
    /// the padding: OPT stays before SIG in the additional section.
    fn encode(
        &self,
        response: &Message,
        transport: Transport,
        udp_limit: usize,
        padded: bool,
    ) -> Option<Vec<u8>> {
        let limit = match transport {
            Transport::Udp => udp_limit,
            _ => wire::STREAM_LIMIT,
        };
        let reserve = if self.signer_for(transport).is_some() {
            hnsfleet_hns::sig0::SIG_RR_SIZE
        } else {
            0
        };
        let limit = limit.saturating_sub(reserve);
        let mut encoded = match wire::encode(response, limit) {
            Some(encoded) => encoded,
            // A proof bundle beyond the client's UDP size: TC=1 without it (the client
            // retries over TCP, which carries it).
            None if has_bundle(response) => {
                let mut truncated = response.truncate();
                if let Some(edns) = truncated.edns.as_mut() {
                    edns.options_mut()
                        .remove(EdnsCode::Unknown(hnsfleet_proof_bundle::OPTION_CODE));
                }
                wire::encode(&truncated, limit)?
            }
            None => return None,
        };
        if padded && transport.is_encrypted() {
            wire::pad(&mut encoded, reserve, limit);
        }
        Some(encoded)
    }

    /// Signs `bytes` when the transport's responses are signed. Over the budget, UDP gets an
    /// empty TC=1 reply (the client retries over TCP) and streams get the answer unsigned.
    fn sign(&self, bytes: Vec<u8>, transport: Transport, client: IpAddr) -> Option<Vec<u8>> {
        let Some(signer) = self.signer_for(transport) else {
            return Some(bytes);
        };
        match signer.sign(bytes, client) {
            Signed::Signed(signed) => Some(signed),
            Signed::OverBudget(unsigned) if transport == Transport::Udp => {
                let truncated = Message::from_vec(&unsigned).ok().map(|response| {
                    let mut truncated = response.truncate();
                    truncated.answers.clear();
                    truncated.authorities.clear();
                    truncated
                });
                truncated
                    .and_then(|t| wire::encode(&t, wire::CLASSIC_UDP_LIMIT))
                    .or(Some(unsigned))
            }
            Signed::OverBudget(unsigned) => Some(unsigned),
        }
    }

    /// The full resolver's response to `request`, and whether it is final (verified, not
    /// stale, not an error: fit for the packet cache).
    async fn resolve(&self, request: &Request) -> (Message, bool) {
        let query = &request.query;
        let mut response = request.response(ResponseCode::NoError, self.udp_payload);
        response.metadata.recursion_available = true;
        if query.query_class() != DNSClass::IN {
            response.metadata.response_code = ResponseCode::Refused;
            wire::add_ede(&mut response, Ede::NotSupported, "only class IN is served");
            return (response, false);
        }
        match query.query_type() {
            RecordType::ANY => {
                // RFC 8482 §4.2: one small synthesized RRset instead of everything the name has
                // (no amplification, no resolution); the same for every name, so final.
                response.answers.push(rfc8482_hinfo(query.name().clone()));
                return (response, true);
            }
            RecordType::AXFR | RecordType::IXFR => {
                response.metadata.response_code = ResponseCode::NotImp;
                wire::add_ede(&mut response, Ede::NotSupported, "query type not supported");
                return (response, false);
            }
            RecordType::OPT | RecordType::SIG | RecordType::RRSIG | RecordType::TSIG => {
                response.metadata.response_code = ResponseCode::FormErr;
                return (response, false);
            }
            _ => {}
        }
        if !self.is_ready() {
            response.metadata.response_code = ResponseCode::ServFail;
            wire::add_ede(
                &mut response,
                Ede::NotReady,
                "chain not synchronized: no trusted root yet",
            );
            return (response, false);
        }
        let recursion = Arc::clone(&self.recursion);
        let name = query.name().clone();
        let qtype = query.query_type();
        let served = self
            .answers
            .get(query.name(), qtype, move || {
                let recursion = Arc::clone(&recursion);
                let name = name.clone();
                async move { recursion.resolve(&name, qtype).await }
            })
            .await;
        let (resolved, stale) = match served {
            Ok(Served::Fresh(resolved)) => (resolved, false),
            Ok(Served::Stale(resolved)) => (resolved, true),
            Err(failure) => {
                self.metrics
                    .upstream_errors
                    .with_label_values(&[failure.label()])
                    .inc();
                response.metadata.response_code = ResponseCode::ServFail;
                wire::add_ede(&mut response, failure.ede(), &failure.to_string());
                return (response, false);
            }
        };
        fill(&mut response, request, resolved);
        if crate::bundle::wants_bundle(request) && !stale {
            let built =
                crate::bundle::build(&self.root, &self.recursion, query.name(), &response).await;
            let attached = built.and_then(|bundle| {
                hnsfleet_proof_bundle::encode_into(&mut response, &bundle)
                    .map_err(|e| e.to_string())
            });
            let result = if attached.is_ok() { "built" } else { "failed" };
            self.metrics
                .proof_bundles
                .with_label_values(&[result])
                .inc();
            if let Err(why) = attached {
                tracing::debug!(name = %query.name(), why, "no proof bundle");
                wire::add_ede(
                    &mut response,
                    Ede::Other,
                    &format!("no proof bundle: {why}"),
                );
                return (response, false);
            }
        }
        if stale {
            let code = if response.response_code == ResponseCode::NXDomain {
                Ede::StaleNxdomainAnswer
            } else {
                Ede::StaleAnswer
            };
            wire::add_ede(&mut response, code, "served stale: refresh failed");
        }
        (response, !stale)
    }
}

/// Longest a packet-cache entry lives, whatever its TTLs (entries also end at 9/10 of their
/// smallest TTL).
const PACKET_MAX_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

/// TTL of the RFC 8482 answer (the RFC suggests a long one, so caches keep it).
const RFC8482_TTL: u32 = 3600;

/// The RFC 8482 §4.2 answer to ANY at `name`: `HINFO "RFC8482" ""`.
fn rfc8482_hinfo(name: hickory_proto::rr::Name) -> Record {
    Record::from_rdata(
        name,
        RFC8482_TTL,
        RData::HINFO(HINFO::new("RFC8482".to_string(), String::new())),
    )
}

/// Puts a resolved answer into `response`: rcode, minimal sections (a positive answer keeps
/// in the authority section only the NSEC/NSEC3 proof of a wildcard expansion, and only for
/// DO=1; DNSSEC records only for DO=1), AD when validated and the client asked with DO or AD
/// (RFC 6840 §5.8).
fn fill(response: &mut Message, request: &Request, resolved: Resolved) {
    response.metadata.response_code = resolved.rcode;
    response.answers = resolved.answers;
    response.authorities = resolved.authorities;
    response.additionals.clear();
    // A proof bundle needs the RRSIGs even if the client forgot DO.
    let dnssec_ok = request.dnssec_ok() || crate::bundle::wants_bundle(request);
    if !response.answers.is_empty() {
        // Minimal responses: the answer says it all. What a validator downstream still
        // needs is the proof that no closer name matched a wildcard (RFC 4035 §3.1.3.3).
        response.authorities.retain(|r| dnssec_ok && is_denial(r));
    }
    response.metadata.authentic_data =
        resolved.secure && (dnssec_ok || request.message.authentic_data);
    if !dnssec_ok {
        let qtype = request.query.query_type();
        let keep = |r: &hickory_proto::rr::Record| {
            let t = r.record_type();
            t == qtype || !(t.is_dnssec() || t == RecordType::NSEC || t == RecordType::NSEC3)
        };
        response.answers.retain(keep);
        response.authorities.retain(keep);
    }
}

/// Whether `response` carries a proof bundle.
fn has_bundle(response: &Message) -> bool {
    response.edns.as_ref().is_some_and(|e| {
        e.options()
            .get(EdnsCode::Unknown(hnsfleet_proof_bundle::OPTION_CODE))
            .is_some()
    })
}

/// Whether `record` is part of a denial of existence: an NSEC or NSEC3, or an RRSIG over one.
fn is_denial(record: &Record) -> bool {
    let denial = |t: RecordType| t == RecordType::NSEC || t == RecordType::NSEC3;
    match &record.data {
        RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig)) => {
            denial(sig.input().type_covered)
        }
        _ => denial(record.record_type()),
    }
}

#[cfg(test)]
mod tests;
