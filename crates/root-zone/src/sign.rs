//! RRSIGs as hsd's root makes them (hns-dns.md §2.8): ECDSA P-256/SHA-256 with RFC 6979 nonces
//! over the RFC 4034 signed data, by the publicly known root keys (§2.7).
//!
//! Deterministic nonces make a signature a pure function of the set, the key and `now`: the
//! same set signed in the same second gives the same bytes, in this crate and in hsd (checked
//! against bns, the library hsd signs with, in `tests/rrsig_bns.rs`). Like hsd's signer,
//! signatures are normalized to low S (s ≤ n/2), which validators neither need nor mind.

use std::sync::LazyLock;

use hickory_proto::dnssec::Algorithm;
use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG, SigInput};
use hickory_proto::rr::{Name, RData, Record, SerialNumber};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use thiserror::Error;

use crate::keys::{KSK_KEY_TAG, KSK_PRIVATE_KEY, RRSIG_TTL, ZSK_KEY_TAG, ZSK_PRIVATE_KEY};
use crate::{KeyRole, RecordSet};

/// Seconds before `now` at which a signature becomes valid (one day, for clock skew).
pub const RRSIG_INCEPTION_BEFORE: u32 = 86400;

/// Seconds after `now` at which a signature expires (365 days).
pub const RRSIG_VALIDITY: u32 = 31_536_000;

/// An answer's sections as wire-ordered records, each signed set followed by its RRSIG.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedAnswer {
    /// Answer section.
    pub answer: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section (without OPT or SIG(0)).
    pub additional: Vec<Record>,
}

/// Why a set could not be signed (a bug in the caller: the sets this crate builds never fail).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SignError {
    /// A signed set had no records.
    #[error("cannot sign an empty record set")]
    EmptySet,
    /// The records of a signed set differ in owner, class or type.
    #[error("records of one signed set differ in owner, class or type")]
    NotOneSet,
    /// A record could not be put in canonical wire form.
    #[error("record cannot be encoded for signing: {0}")]
    Encode(String),
    /// The ECDSA signer failed (it cannot, for the fixed root keys).
    #[error("ecdsa signing failed")]
    Ecdsa,
}

/// The two root signing keys, parsed once.
struct RootKeys {
    ksk: SigningKey,
    zsk: SigningKey,
}

static ROOT_KEYS: LazyLock<Option<RootKeys>> = LazyLock::new(|| {
    Some(RootKeys {
        ksk: SigningKey::from_slice(&KSK_PRIVATE_KEY).ok()?,
        zsk: SigningKey::from_slice(&ZSK_PRIVATE_KEY).ok()?,
    })
});

/// The RRSIG by `key` over `records` (one RRset) at `now` (Unix seconds): TTL 10800, labels of
/// the owner, original TTL of the first record, inception `now − 86400`, expiration
/// `now + 31536000` (both as RFC 1982 serials, so they wrap in 2106), signer `.`.
pub fn rrsig(records: &[Record], key: KeyRole, now: u64) -> Result<Record, SignError> {
    let first = records.first().ok_or(SignError::EmptySet)?;
    let (owner, class, rtype) = (&first.name, first.dns_class, first.record_type());
    // Owner names compare case-insensitively (hickory's `Name` equality), as RRsets do.
    let one_set = records
        .iter()
        .all(|r| r.dns_class == class && r.record_type() == rtype && &r.name == owner);
    if !one_set {
        return Err(SignError::NotOneSet);
    }
    let key_tag = match key {
        KeyRole::Ksk => KSK_KEY_TAG,
        KeyRole::Zsk => ZSK_KEY_TAG,
    };
    // RFC 4034 §3.1.5: the fields are 32-bit serials; keeping the low 32 bits is the wrap.
    let now32 = now as u32;
    let input = SigInput {
        type_covered: rtype,
        algorithm: Algorithm::ECDSAP256SHA256,
        num_labels: owner.num_labels(),
        original_ttl: first.ttl,
        sig_expiration: SerialNumber::new(now32.wrapping_add(RRSIG_VALIDITY)),
        sig_inception: SerialNumber::new(now32.wrapping_sub(RRSIG_INCEPTION_BEFORE)),
        key_tag,
        signer_name: Name::root(),
    };
    let data = signed_data(&input, records)?;
    let keys = ROOT_KEYS.as_ref().ok_or(SignError::Ecdsa)?;
    let signing_key = match key {
        KeyRole::Ksk => &keys.ksk,
        KeyRole::Zsk => &keys.zsk,
    };
    let signature: Signature = signing_key.try_sign(&data).map_err(|_| SignError::Ecdsa)?;
    // bcrypto (hsd's ECDSA) always returns the low-S form; do the same to match its bytes.
    let signature = signature.normalize_s().unwrap_or(signature);
    let rdata = RRSIG::from_sig(input, signature.to_bytes().to_vec());
    let mut record = Record::from_rdata(
        owner.clone(),
        RRSIG_TTL,
        RData::DNSSEC(DNSSECRData::RRSIG(rdata)),
    );
    record.dns_class = class;
    Ok(record)
}

/// The RFC 4034 §3.1.8.1 signed data: the RRSIG rdata without the signature (signer name in
/// canonical form), then every record of the set as `owner | type | class | original TTL |
/// rdlength | rdata` in canonical form (owner lower-cased, names inside the rdata of the RFC
/// 4034 §6.2 types lower-cased as hickory does), sorted by rdata bytes, duplicates removed.
pub fn signed_data(input: &SigInput, records: &[Record]) -> Result<Vec<u8>, SignError> {
    let mut rdatas = records
        .iter()
        .map(|record| {
            let mut buf = Vec::new();
            let mut encoder = canonical_encoder(&mut buf);
            record.data.emit(&mut encoder).map_err(encode_error)?;
            Ok(buf)
        })
        .collect::<Result<Vec<Vec<u8>>, SignError>>()?;
    rdatas.sort_unstable();
    rdatas.dedup();

    let owner = records
        .first()
        .map(|r| r.name.to_lowercase())
        .ok_or(SignError::EmptySet)?;
    let mut owner_wire = Vec::new();
    owner
        .emit(&mut canonical_encoder(&mut owner_wire))
        .map_err(encode_error)?;

    let mut out = Vec::new();
    input
        .emit(&mut canonical_encoder(&mut out))
        .map_err(encode_error)?;
    let class = records
        .first()
        .map(|r| u16::from(r.dns_class))
        .unwrap_or_default();
    for rdata in &rdatas {
        let length = u16::try_from(rdata.len())
            .map_err(|_| SignError::Encode("rdata over 65535 bytes".to_string()))?;
        out.extend_from_slice(&owner_wire);
        out.extend_from_slice(&u16::from(input.type_covered).to_be_bytes());
        out.extend_from_slice(&class.to_be_bytes());
        out.extend_from_slice(&input.original_ttl.to_be_bytes());
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(rdata);
    }
    Ok(out)
}

/// Appends `set`'s records, then its RRSIG when it is marked for signing.
pub(crate) fn push_set(out: &mut Vec<Record>, set: RecordSet, now: u64) -> Result<(), SignError> {
    let signature = match set.sign {
        Some(key) => Some(rrsig(&set.records, key, now)?),
        None => None,
    };
    out.extend(set.records);
    out.extend(signature);
    Ok(())
}

/// An encoder writing uncompressed names in DNSSEC canonical form.
fn canonical_encoder(buf: &mut Vec<u8>) -> BinEncoder<'_> {
    let mut encoder = BinEncoder::new(buf);
    encoder.set_canonical_form(true);
    encoder.set_name_encoding(NameEncoding::UncompressedLowercase);
    encoder
}

fn encode_error(err: impl std::fmt::Display) -> SignError {
    SignError::Encode(err.to_string())
}

#[cfg(test)]
mod tests;
