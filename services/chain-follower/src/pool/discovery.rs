//! Peers learnt at run time: the addresses DNS seeds resolve to, and the ones peers gossip in
//! ADDR. Each address is a peer of its own (a ban hits one node), dialled by the pool like a
//! configured peer. Caps keep a seed or a gossiping peer from filling the pool: at most
//! [`MAX_SEEDED_PEERS`] addresses from DNS seeds, [`MAX_DISCOVERED_PEERS`] from gossip, and
//! [`DISCOVERED_PER_SOURCE`] from any one gossiping peer.
//!
//! Learnt addresses are not kept forever: a dialer of one that fails [`LEARNT_MAX_FAILURES`]
//! times in a row (connect errors, bans, sessions shorter than a minute; each retry backs off
//! exponentially) ends, the address is forgotten, and its slot under the caps is free again, so
//! the caps count live entries only and dead gossip cannot fill them.
//!
//! Gossip is filtered like hsd does before it dials: only full nodes (the NETWORK service
//! bit), only publicly routable addresses on main and testnet. On regtest and simnet only
//! loopback addresses are taken, so a local test network never dials out.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hnsfleet_hns::p2p::NetAddress;
use hnsfleet_hns::params::Network;
use tokio_util::sync::CancellationToken;

use super::{HANDSHAKE_TIMEOUT, Pool};
use crate::config::PeerAddr;
use crate::peer::PeerError;

/// Most peer addresses taken from DNS seeds, over all seeds.
pub(super) const MAX_SEEDED_PEERS: usize = 64;
/// Most peer addresses taken from ADDR gossip, over all peers.
pub(super) const MAX_DISCOVERED_PEERS: usize = 64;
/// Most addresses one peer's gossip may add.
pub(super) const DISCOVERED_PER_SOURCE: usize = 8;
/// Consecutive failures after which a learnt address is forgotten (about two minutes of
/// backed-off retries).
pub(super) const LEARNT_MAX_FAILURES: u32 = 8;
/// How often a DNS seed is resolved again for new addresses.
const SEED_REFRESH: Duration = Duration::from_secs(30 * 60);
/// Delay before retrying a DNS seed that did not resolve.
const SEED_RETRY: Duration = Duration::from_secs(60);
/// hsd's NETWORK service bit: the peer serves the full chain (and proofs).
const SERVICE_NETWORK: u64 = 1;

/// The live addresses learnt at run time and where each came from, for their caps.
#[derive(Debug, Default)]
pub(super) struct Learnt {
    seeded: usize,
    discovered: usize,
    by_source: HashMap<String, usize>,
    origins: HashMap<PeerAddr, Source>,
}

/// Where a run-time address came from.
#[derive(Debug, Clone, Copy)]
enum Origin<'a> {
    DnsSeed,
    Gossip(&'a str),
}

/// [`Origin`], owned, as remembered per address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    DnsSeed,
    Gossip(String),
}

// === impl Learnt ===

impl Learnt {
    /// Forgets `addr`; its origin's caps get the slot back. False if it was not learnt.
    fn forget(&mut self, addr: &PeerAddr) -> bool {
        match self.origins.remove(addr) {
            Some(Source::DnsSeed) => {
                self.seeded = self.seeded.saturating_sub(1);
                true
            }
            Some(Source::Gossip(source)) => {
                self.discovered = self.discovered.saturating_sub(1);
                if let Some(n) = self.by_source.get_mut(&source) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.by_source.remove(&source);
                    }
                }
                true
            }
            None => false,
        }
    }
}

// === impl Pool (discovery) ===

impl Pool {
    /// Resolves a DNS seed now and every [`SEED_REFRESH`] (every [`SEED_RETRY`] while it
    /// fails), handing each address not dialled yet to the pool. Returns on `shutdown`.
    pub(super) async fn seed_loop(
        self: Arc<Self>,
        host: String,
        port: u16,
        shutdown: CancellationToken,
    ) {
        loop {
            let wait = match resolve_all(&host, port).await {
                Ok(found) => {
                    let added = found
                        .iter()
                        .filter(|socket| self.admit(peer_at(**socket, None), Origin::DnsSeed))
                        .count();
                    tracing::info!(addresses = found.len(), added, "resolved DNS seed");
                    SEED_REFRESH
                }
                Err(e) => {
                    tracing::warn!(error = %e, "DNS seed did not resolve");
                    SEED_RETRY
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Takes the usable addresses of an ADDR from peer `source`; returns how many were new.
    pub(super) fn learn_gossip(&self, source: &str, entries: &[NetAddress]) -> usize {
        let local_only = matches!(
            self.follower.params().network,
            Network::Regtest | Network::Simnet
        );
        let added = gossip_candidates(entries, local_only)
            .into_iter()
            .filter(|addr| self.admit(addr.clone(), Origin::Gossip(source)))
            .count();
        if added > 0 {
            tracing::info!(added, offered = entries.len(), "learnt peers from gossip");
        }
        added
    }

    /// Starts a dialer for `addr` unless it has one already or its origin's cap is reached.
    fn admit(&self, addr: PeerAddr, origin: Origin<'_>) -> bool {
        {
            let mut learnt = self.learnt.lock();
            let allowed = match origin {
                Origin::DnsSeed => learnt.seeded < MAX_SEEDED_PEERS,
                Origin::Gossip(source) => {
                    learnt.discovered < MAX_DISCOVERED_PEERS
                        && learnt.by_source.get(source).copied().unwrap_or(0)
                            < DISCOVERED_PER_SOURCE
                }
            };
            if !allowed || !self.dialing.lock().insert(addr.clone()) {
                return false;
            }
            let source = match origin {
                Origin::DnsSeed => {
                    learnt.seeded += 1;
                    Source::DnsSeed
                }
                Origin::Gossip(source) => {
                    learnt.discovered += 1;
                    *learnt.by_source.entry(source.to_string()).or_default() += 1;
                    Source::Gossip(source.to_string())
                }
            };
            learnt.origins.insert(addr.clone(), source);
        }
        // The receiver lives as long as the pool runs; after shutdown nothing is dialled.
        let _ = self.new_dialers.send(addr);
        self.publish_known_peers();
        true
    }
}

impl Pool {
    /// Whether the dialer of `addr` should give up after `failures` in a row: only learnt
    /// addresses are ever given up (configured peers are dialled for ever). When it should,
    /// the address is forgotten here, in one step with the decision.
    pub(super) fn give_up_learnt(&self, addr: &PeerAddr, failures: u32) -> bool {
        if failures < LEARNT_MAX_FAILURES {
            return false;
        }
        let forgotten = {
            let mut learnt = self.learnt.lock();
            let forgotten = learnt.forget(addr);
            if forgotten {
                self.dialing.lock().remove(addr);
            }
            forgotten
        };
        if forgotten {
            tracing::info!(failures, "forgetting a learnt peer that keeps failing");
            self.publish_known_peers();
        }
        forgotten
    }
}

/// The peer at `socket` (brontide when `key` is given).
fn peer_at(socket: SocketAddr, key: Option<[u8; 33]>) -> PeerAddr {
    PeerAddr {
        identity: key,
        host: socket.ip().to_string(),
        port: socket.port(),
    }
}

/// The gossiped addresses worth dialling: full nodes on a usable IP and port, publicly
/// routable unless `local_only`, in which case loopback only. Entries with a brontide key are
/// dialled over brontide.
pub(super) fn gossip_candidates(entries: &[NetAddress], local_only: bool) -> Vec<PeerAddr> {
    entries
        .iter()
        .filter(|entry| entry.services & SERVICE_NETWORK != 0)
        .filter_map(|entry| {
            let socket = entry.socket_addr()?;
            let ip = socket.ip();
            let usable = if local_only {
                ip.is_loopback()
            } else {
                is_publicly_routable(ip)
            };
            (usable && socket.port() != 0).then(|| peer_at(socket, entry.brontide_key().copied()))
        })
        .collect()
}

/// Whether `ip` can be a peer on the public internet (not loopback, private, link-local,
/// shared, documentation, multicast, reserved or unspecified).
pub(super) fn is_publicly_routable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_publicly_routable(IpAddr::V4(v4));
            }
            let documentation = v6.segments()[..2] == [0x2001, 0x0db8];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || documentation)
        }
    }
}

/// Every address `host` resolves to (A and AAAA), within the handshake timeout.
pub(super) async fn resolve_all(host: &str, port: u16) -> Result<Vec<SocketAddr>, PeerError> {
    let found = tokio::time::timeout(HANDSHAKE_TIMEOUT, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| PeerError::Timeout("name resolution"))??;
    let mut found: Vec<SocketAddr> = found.collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        return Err(PeerError::Handshake("name resolved to no address"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(addr: &str, services: u64, key: Option<[u8; 33]>) -> NetAddress {
        let mut entry = NetAddress::from_socket_addr(addr.parse().unwrap(), services, 0);
        if let Some(key) = key {
            entry.key = key;
        }
        entry
    }

    #[test]
    fn routable_means_public() {
        for public in [
            "1.1.1.1",
            "129.153.177.220",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_publicly_routable(public.parse().unwrap()), "{public}");
        }
        for local in [
            "0.0.0.0",
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_publicly_routable(local.parse().unwrap()), "{local}");
        }
    }

    #[test]
    fn gossip_keeps_full_nodes_on_usable_addresses() {
        let key = {
            let mut k = [7u8; 33];
            k[0] = 2;
            k
        };
        let entries = [
            entry("1.1.1.1:12038", 1, None),
            entry("8.8.8.8:44806", 1, Some(key)),
            entry("9.9.9.9:12038", 0, None),
            entry("10.0.0.1:12038", 1, None),
            entry("127.0.0.1:14038", 1, None),
            entry("1.0.0.1:0", 1, None),
        ];
        let public = gossip_candidates(&entries, false);
        assert_eq!(public.len(), 2, "{public:?}");
        assert_eq!(public[0].to_string(), "1.1.1.1:12038");
        assert_eq!(public[0].identity, None);
        assert_eq!(
            (public[1].host.as_str(), public[1].port),
            ("8.8.8.8", 44806)
        );
        assert_eq!(public[1].identity, Some(key));
        let local = gossip_candidates(&entries, true);
        assert_eq!(
            local.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["127.0.0.1:14038"]
        );
    }
}
