//! How `hnsfleet query` prints an answer: dig's layout (header, flags, OPT pseudosection,
//! sections in zone-file form, then the SIG(0) verdict and the statistics), or JSON.

use std::fmt::Write as _;

use hickory_proto::op::Message;
use hickory_proto::rr::Record;
use hickory_proto::rr::rdata::opt::EdnsOption;
use hnsfleet_client::conf::PinnedKey;
use hnsfleet_client::{Config, Response, Sig0Verdict};
use serde_json::{Value, json};

use super::{QueryArgs, key_origin};

/// EDNS option code of Extended DNS Errors (RFC 8914).
const EDE_OPTION: u16 = 15;

/// dig's layout.
pub(super) fn text(
    response: &Response,
    config: &Config,
    pinned: Option<&PinnedKey>,
    args: &QueryArgs,
) -> String {
    let m = response.message();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "; <<>> hnsfleet query <<>> {} {}",
        args.name, args.record_type
    );
    let _ = writeln!(
        out,
        ";; ->>HEADER<<- opcode: {}, status: {}, id: {}",
        opcode(m),
        status(m),
        m.id
    );
    let _ = writeln!(
        out,
        ";; flags: {}; QUERY: {}, ANSWER: {}, AUTHORITY: {}, ADDITIONAL: {}",
        flags(m).join(" "),
        m.queries.len(),
        m.answers.len(),
        m.authorities.len(),
        m.additionals.len() + usize::from(m.edns.is_some()),
    );
    if let Some(edns) = &m.edns {
        let _ = writeln!(out, "\n;; OPT PSEUDOSECTION:");
        let do_flag = if edns.flags().dnssec_ok { " do" } else { "" };
        let _ = writeln!(
            out,
            "; EDNS: version: {}, flags:{do_flag}; udp: {}",
            edns.version(),
            edns.max_payload()
        );
        if let Some((code, text)) = ede(m) {
            let _ = writeln!(out, "; EDE: {code}: ({text})");
        }
    }
    let _ = writeln!(out, "\n;; QUESTION SECTION:");
    for q in &m.queries {
        let _ = writeln!(
            out,
            ";{}\t\t{}\t{}",
            q.name(),
            q.query_class(),
            q.query_type()
        );
    }
    for (title, records) in [
        ("ANSWER", &m.answers),
        ("AUTHORITY", &m.authorities),
        ("ADDITIONAL", &m.additionals),
    ] {
        if records.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n;; {title} SECTION:");
        for record in records {
            let _ = writeln!(out, "{}", zone_line(record));
        }
    }
    let _ = writeln!(out, "\n;; SIG(0): {}", sig0_line(response.sig0(), pinned));
    let _ = writeln!(
        out,
        ";; SERVER: {} ({})",
        config.server,
        response.transport()
    );
    let _ = writeln!(
        out,
        ";; Query time: {} msec",
        response.elapsed().as_millis()
    );
    let _ = writeln!(out, ";; MSG SIZE  rcvd: {}", response.raw().len());
    out
}

/// The JSON form: header, flags, sections as zone-file lines, EDE, the SIG(0) verdict.
pub(super) fn json(response: &Response, config: &Config, pinned: Option<&PinnedKey>) -> Value {
    let m = response.message();
    let lines = |records: &[Record]| records.iter().map(zone_line).collect::<Vec<_>>();
    let sig0 = match response.sig0() {
        Sig0Verdict::Verified { key } => json!({
            "verdict": "verified",
            "key": key.to_hex(),
            "key_base32": key.to_base32(),
            "key_origin": pinned.map(key_origin),
        }),
        _ => json!({ "verdict": "not_checked", "signed": carries_sig0(m) }),
    };
    json!({
        "server": config.server.to_string(),
        "transport": response.transport().as_str(),
        "id": m.id,
        "opcode": opcode(m),
        "status": status(m),
        "flags": flags(m),
        "question": m.queries.iter().map(|q| format!("{} {} {}", q.name(), q.query_class(), q.query_type())).collect::<Vec<_>>(),
        "answer": lines(&m.answers),
        "authority": lines(&m.authorities),
        "additional": lines(&m.additionals),
        "ede": ede(m).map(|(code, text)| json!({"code": code, "text": text})),
        "sig0": sig0,
        "query_time_ms": response.elapsed().as_millis() as u64,
        "size": response.raw().len(),
    })
}

/// The verdict line: `verified with key <hex> (<origin>)` or `not checked (...)`.
fn sig0_line(verdict: &Sig0Verdict, pinned: Option<&PinnedKey>) -> String {
    match verdict {
        Sig0Verdict::Verified { key } => format!(
            "verified with key {} ({})",
            key.to_hex(),
            pinned.map(key_origin).unwrap_or_default()
        ),
        _ => "not checked (no key pinned)".to_string(),
    }
}

/// Whether the message ends with a SIG record (SIG(0)).
fn carries_sig0(m: &Message) -> bool {
    m.additionals
        .last()
        .is_some_and(|r| r.record_type() == hickory_proto::rr::RecordType::SIG)
}

/// A record as a zone-file line with dig's tabs.
fn zone_line(record: &Record) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        record.name,
        record.ttl,
        record.dns_class,
        record.record_type(),
        record.data
    )
}

fn opcode(m: &Message) -> String {
    format!("{:?}", m.op_code).to_ascii_uppercase()
}

/// The rcode as dig names it (RFC 6895 §2.3 mnemonics), `RCODE<n>` for the others.
fn status(m: &Message) -> String {
    let code = u16::from(m.response_code);
    let known = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    match (known.get(usize::from(code)), code) {
        (Some(name), _) => (*name).to_string(),
        (None, 16) => "BADVERS".to_string(),
        (None, code) => format!("RCODE{code}"),
    }
}

/// Header flags in dig's order.
fn flags(m: &Message) -> Vec<&'static str> {
    let md = &m.metadata;
    [
        (
            md.message_type == hickory_proto::op::MessageType::Response,
            "qr",
        ),
        (md.authoritative, "aa"),
        (md.truncation, "tc"),
        (md.recursion_desired, "rd"),
        (md.recursion_available, "ra"),
        (md.authentic_data, "ad"),
        (md.checking_disabled, "cd"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect()
}

/// The first Extended DNS Error: its code and text.
fn ede(m: &Message) -> Option<(u16, String)> {
    m.edns
        .as_ref()?
        .options()
        .options
        .iter()
        .find_map(|(_, option)| match option {
            EdnsOption::Unknown(EDE_OPTION, data) if data.len() >= 2 => Some((
                u16::from_be_bytes([data[0], data[1]]),
                String::from_utf8_lossy(&data[2..]).into_owned(),
            )),
            _ => None,
        })
}
