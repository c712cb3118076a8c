//! Text the harness writes for knotd (its configuration) and edits in what knotd wrote (the
//! signed dump of a zone that is to be served broken).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use hickory_proto::rr::{Name, RecordType};

use super::{KeyModel, KnotError};

/// How one zone appears in a knotd configuration.
pub(super) struct ConfZone<'a> {
    /// The zone's origin.
    pub(super) origin: &'a Name,
    /// Its zone file.
    pub(super) file: &'a Path,
    /// `Some` to let knotd sign it with that key model, `None` to serve the file as it is.
    pub(super) sign: Option<KeyModel>,
    /// Deny with NSEC3 instead of NSEC (when signed).
    pub(super) nsec3: bool,
}

/// The policy ids written into every configuration, one per [`KeyModel`] and denial kind.
fn policy_id(model: KeyModel, nsec3: bool) -> &'static str {
    match (model, nsec3) {
        (KeyModel::Csk, false) => "csk",
        (KeyModel::Csk, true) => "csk-nsec3",
        (KeyModel::KskZsk, false) => "kskzsk",
        (KeyModel::KskZsk, true) => "kskzsk-nsec3",
    }
}

/// A knotd configuration: one listener, storage and run directory under `dir`, one worker of
/// each kind (tests are small), both signing policies, and the zones. `flush_now` makes knotd
/// write each zone (signed) back to its file right after loading it, which is how the harness
/// obtains a signed dump to corrupt.
pub(super) fn knot_conf(
    dir: &Path,
    listen: SocketAddr,
    zones: &[ConfZone<'_>],
    flush_now: bool,
) -> String {
    let sync = if flush_now { 0 } else { -1 };
    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ = write!(
        out,
        "server:\n    rundir: \"{run}\"\n    listen: {ip}@{port}\n    udp-workers: 1\n    \
         tcp-workers: 1\n    background-workers: 1\n\
         database:\n    storage: \"{db}\"\n\
         log:\n  - target: stderr\n    any: info\n\
         policy:\n",
        run = dir.join("run").display(),
        ip = listen.ip(),
        port = listen.port(),
        db = dir.join("db").display(),
    );
    for model in [KeyModel::Csk, KeyModel::KskZsk] {
        let single = matches!(model, KeyModel::Csk);
        for nsec3 in [false, true] {
            let _ = write!(
                out,
                "  - id: {id}\n    algorithm: ecdsap256sha256\n    single-type-signing: {single}\n    \
                 nsec3: {nsec3}\n    nsec3-opt-out: off\n    cds-cdnskey-publish: none\n",
                id = policy_id(model, nsec3),
                single = if single { "on" } else { "off" },
                nsec3 = if nsec3 { "on" } else { "off" },
            );
        }
    }
    let _ = write!(
        out,
        "template:\n  - id: default\n    storage: \"{zones}\"\n    zonefile-sync: {sync}\n    \
         zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\n\
         zone:\n",
        zones = dir.join("zones").display(),
    );
    for zone in zones {
        let _ = write!(
            out,
            "  - domain: \"{origin}\"\n    file: \"{file}\"\n",
            origin = zone.origin,
            file = zone.file.display(),
        );
        match zone.sign {
            Some(model) => {
                let _ = write!(
                    out,
                    "    dnssec-signing: on\n    dnssec-policy: {}\n",
                    policy_id(model, zone.nsec3)
                );
            }
            None => out.push_str("    dnssec-signing: off\n"),
        }
    }
    out
}

/// True when `dump` is a complete signed zone dump as knotd writes it.
pub(super) fn is_signed_dump(dump: &str) -> bool {
    dump.contains(";; DNSSEC signatures") && dump.contains(";; Written")
}

/// Changes one signature byte in every RRSIG covering `covered` in a knotd zone dump, so those
/// RRsets fail validation while everything else still parses and verifies. Errors when no such
/// RRSIG exists (a test asking for a broken DS that the zone does not have is a test bug).
pub(super) fn corrupt_rrsigs(dump: &str, covered: RecordType) -> Result<String, KnotError> {
    let mut out = String::with_capacity(dump.len());
    let mut hits = 0;
    for line in dump.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // owner ttl RRSIG covered alg labels origttl exp inc tag signer signature (one token:
        // knotd dumps a record per line).
        let is_target = fields.len() == 12
            && fields[2] == "RRSIG"
            && fields[3].eq_ignore_ascii_case(&covered.to_string());
        if !is_target {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let sig = fields[11];
        let at = sig.len() / 2;
        let Some(old) = sig[at..].chars().next() else {
            continue;
        };
        // Any other base64 digit decodes to a different byte at the same place.
        let new = if old == 'A' { 'B' } else { 'A' };
        let broken = format!("{}{}{}", &sig[..at], new, &sig[at + old.len_utf8()..]);
        out.push_str(&fields[..11].join(" "));
        out.push(' ');
        out.push_str(&broken);
        out.push('\n');
        hits += 1;
    }
    if hits == 0 {
        return Err(KnotError::Setup(format!(
            "no RRSIG covering {covered} to corrupt"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const DUMP: &str = "com. 3600 SOA ns.com. host.com. 1 3600 900 604800 300\n\
        ;; DNSSEC signatures\n\
        com. 3600 RRSIG SOA 13 1 3600 20261219095606 20261205082606 33959 com. AAAABBBBCCCC\n\
        www.com. 3600 RRSIG A 13 2 3600 20261219095606 20261205082606 33959 com. AAAABBBBCCCC\n\
        ;; Written 3 records\n";

    #[test]
    fn corrupts_only_the_covered_type() {
        let out = corrupt_rrsigs(DUMP, RecordType::A).unwrap();
        assert!(
            out.contains(
                "RRSIG SOA 13 1 3600 20261219095606 20261205082606 33959 com. AAAABBBBCCCC"
            )
        );
        assert!(out.contains("com. AAAABBABCCCC"), "{out}");
        assert!(is_signed_dump(&out));
        assert!(corrupt_rrsigs(DUMP, RecordType::DS).is_err());
    }

    #[test]
    fn conf_names_each_zone_and_policy() {
        let origin = Name::root();
        let file = Path::new("/x/root.zone");
        let zones = [ConfZone {
            origin: &origin,
            file,
            sign: Some(KeyModel::KskZsk),
            nsec3: false,
        }];
        let conf = knot_conf(
            Path::new("/x"),
            "127.0.0.40:5353".parse().unwrap(),
            &zones,
            false,
        );
        assert!(conf.contains("listen: 127.0.0.40@5353"));
        assert!(conf.contains("domain: \".\""));
        assert!(conf.contains("dnssec-policy: kskzsk"));
        assert!(conf.contains("zonefile-sync: -1"));
    }
}
