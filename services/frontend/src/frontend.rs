//! The request pipeline every transport shares: bytes in, bytes out.
//!
//! [`Frontend::handle`] parses the request ([`crate::wire`]), answers it as the full resolver
//! (answer cache, then recursion) or as the HNS root alone, builds the response (RA, AD, the
//! client's DO, EDE on failures), encodes it within the transport's size limit, signs it with
//! SIG(0) when configured, and records the metrics. Listeners only move bytes.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};
use tokio::sync::Semaphore;

use crate::answers::{AnswerCache, Served};
use crate::metrics::{Metrics, qtype_label, rcode_label};
use crate::recursion::{Recursion, Resolved};
use crate::root::RootAuthority;
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

/// Which transports get SIG(0) (Do53 UDP and TCP always, when a key is configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignOn {
    /// Sign DoT responses.
    pub tls: bool,
    /// Sign DoH responses.
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
    metrics: Metrics,
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
            metrics: parts.metrics,
        }
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

    /// Answers `bytes` received from `client` over `transport`; `None` means send nothing.
    pub async fn handle(
        &self,
        bytes: &[u8],
        transport: Transport,
        client: IpAddr,
        service: Service,
    ) -> Option<Vec<u8>> {
        let started = Instant::now();
        let (response, udp_limit) = match wire::parse(bytes) {
            Parsed::Drop => {
                self.metrics.dropped.with_label_values(&["malformed"]).inc();
                return None;
            }
            Parsed::Reply(reply) => (*reply, wire::CLASSIC_UDP_LIMIT),
            Parsed::Query(request) => {
                // Every query that may wait on an upstream holds a permit: a flood gets
                // SERVFAIL at once instead of piling up tasks and memory.
                let response = match self.in_flight.try_acquire() {
                    Err(_) => {
                        self.metrics.overloaded.inc();
                        let mut response =
                            request.response(ResponseCode::ServFail, self.udp_payload);
                        wire::add_ede(&mut response, Ede::Other, "overloaded");
                        response
                    }
                    Ok(_permit) => {
                        self.metrics.in_flight.inc();
                        let response = match service {
                            Service::Root => self.root.respond(&request, self.udp_payload).await,
                            Service::Resolver => self.resolve(&request).await,
                        };
                        self.metrics.in_flight.dec();
                        response
                    }
                };
                (response, request.udp_limit(self.udp_payload))
            }
        };
        let qtype = response
            .queries
            .first()
            .map_or("other", |q| qtype_label(q.query_type()));
        let service_label = match service {
            Service::Resolver => "resolver",
            Service::Root => "root",
        };
        self.metrics
            .queries
            .with_label_values(&[
                transport.as_str(),
                service_label,
                qtype,
                rcode_label(response.response_code),
            ])
            .inc();
        let out = self.finish(&response, transport, client, udp_limit);
        self.metrics
            .latency
            .with_label_values(&[transport.as_str(), service_label])
            .observe(started.elapsed().as_secs_f64());
        out
    }

    /// Encodes within the transport's limit and signs when configured.
    fn finish(
        &self,
        response: &Message,
        transport: Transport,
        client: IpAddr,
        udp_limit: usize,
    ) -> Option<Vec<u8>> {
        let signer = self.signer.as_ref().filter(|_| match transport {
            Transport::Udp | Transport::Tcp => true,
            Transport::Tls => self.sign_on.tls,
            Transport::Https => self.sign_on.https,
        });
        let limit = match transport {
            Transport::Udp => udp_limit,
            _ => wire::STREAM_LIMIT,
        };
        // Room for the SIG(0) record, so a signed response still fits.
        let reserve = if signer.is_some() {
            hnsfleet_hns::sig0::SIG_RR_SIZE
        } else {
            0
        };
        let bytes = wire::encode(response, limit.saturating_sub(reserve))?;
        let Some(signer) = signer else {
            return Some(bytes);
        };
        match signer.sign(bytes, client) {
            Signed::Signed(signed) => Some(signed),
            Signed::OverBudget(unsigned) if transport == Transport::Udp => {
                // Over budget on UDP: an empty TC=1 reply sends the client to TCP.
                let mut truncated = response.truncate();
                truncated.answers.clear();
                wire::encode(&truncated, limit).or(Some(unsigned))
            }
            Signed::OverBudget(unsigned) => Some(unsigned),
        }
    }

    /// The full resolver's response to `request`.
    async fn resolve(&self, request: &Request) -> Message {
        let query = &request.query;
        let mut response = request.response(ResponseCode::NoError, self.udp_payload);
        response.metadata.recursion_available = true;
        if query.query_class() != DNSClass::IN {
            response.metadata.response_code = ResponseCode::Refused;
            wire::add_ede(&mut response, Ede::NotSupported, "only class IN is served");
            return response;
        }
        match query.query_type() {
            RecordType::ANY | RecordType::AXFR | RecordType::IXFR => {
                response.metadata.response_code = ResponseCode::NotImp;
                wire::add_ede(&mut response, Ede::NotSupported, "query type not supported");
                return response;
            }
            RecordType::OPT | RecordType::SIG | RecordType::RRSIG | RecordType::TSIG => {
                response.metadata.response_code = ResponseCode::FormErr;
                return response;
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
            return response;
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
                return response;
            }
        };
        fill(&mut response, request, resolved);
        if stale {
            let code = if response.response_code == ResponseCode::NXDomain {
                Ede::StaleNxdomainAnswer
            } else {
                Ede::StaleAnswer
            };
            wire::add_ede(&mut response, code, "served stale: refresh failed");
        }
        response
    }
}

/// Puts a resolved answer into `response`: rcode, sections (DNSSEC records only for DO=1),
/// AD when validated and the client asked with DO or AD (RFC 6840 §5.8).
fn fill(response: &mut Message, request: &Request, resolved: Resolved) {
    response.metadata.response_code = resolved.rcode;
    response.answers = resolved.answers;
    response.authorities = resolved.authorities;
    let dnssec_ok = request.dnssec_ok();
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
