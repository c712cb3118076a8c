//! Proof bundles through the client (cargo feature `proof-bundle`, on by default): ask for one
//! with [`Request::with_proof_bundle`], check it with [`Response::verify_bundle`]. The
//! format, the policy and the steps are `hnsfleet-proof-bundle`'s, re-exported as
//! [`proof_bundle`](crate::proof_bundle).
//!
//! The client gives the bundle no trust of its own: a [`Response`] is a response whose ID,
//! question and (with a pinned key) SIG(0) checked; whether its answer is the chain's is what
//! the returned [`Report`] says, step by step.

use hnsfleet_proof_bundle::{DOH_PARAMETER, KnownChain, OPTION_CODE, Policy, Report};

use crate::{Request, Response};

impl Request {
    /// The same request asking for a proof bundle: the EDNS0 option (over every transport),
    /// the DoH URL parameter `hns-proof=1` (over DoH), and DO (the bundle's DNSSEC chain ends
    /// at the answer's RRSIGs). Over UDP a frontend answers such a query with TC=1 at once;
    /// the client then asks again over TCP.
    pub fn with_proof_bundle(self) -> Request {
        self.with_dnssec_ok(true)
            .with_edns_option(OPTION_CODE, Vec::new())
            .with_doh_param(DOH_PARAMETER, "1")
    }
}

impl Response {
    /// Verifies the answer with the bundle it carries, at `now` (Unix seconds), under `policy`,
    /// and against `chain` (headers the caller validated itself) when given. A response
    /// without a bundle fails the first step.
    pub fn verify_bundle(
        &self,
        policy: &Policy,
        now: u64,
        chain: Option<&dyn KnownChain>,
    ) -> Report {
        hnsfleet_proof_bundle::verify(&self.message, policy, now, chain)
    }
}
