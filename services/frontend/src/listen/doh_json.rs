//! The JSON form of DoH that Cloudflare and Google serve: `GET /dns-query?name=&type=` with
//! `accept: application/dns-json`, and `GET /resolve?name=&type=`.
//!
//! Parameters: `name` (required), `type` (a mnemonic such as `AAAA` or a number; default `A`),
//! `do` and `cd` (`1`/`true` set the DO and CD bits). The query goes through the same pipeline
//! as a wire-format one (as DoH, so the same limits, caches and metrics apply); the answer comes
//! back as `{"Status","TC","RD","RA","AD","CD","Question":[{"name","type"}],"Answer":[{"name",
//! "type","TTL","data"}],"Authority":[..],"Additional":[..]}` with an Extended DNS Error as
//! `"Comment"`. Sections without records are left out, as those services do. Pure: no I/O.

use std::str::FromStr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde_json::{Map, Value, json};

use crate::wire;

/// The path Google's JSON API uses.
pub const RESOLVE_PATH: &str = "/resolve";
/// The JSON media type (Cloudflare's name; Google answers `application/json`).
pub const DNS_JSON: &str = "application/dns-json";

/// Why a JSON request is refused (HTTP 400 with this text).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonRequestError {
    /// No `name` parameter.
    #[error("the name parameter is missing")]
    MissingName,
    /// `name` is not a domain name.
    #[error("the name parameter is not a domain name")]
    BadName,
    /// `type` is neither a known mnemonic nor a number.
    #[error("the type parameter is not a record type")]
    BadType,
    /// The parameter string does not decode, or a parameter repeats.
    #[error("the query string is malformed")]
    Malformed,
}

/// Whether a request to `path` with this query string and `accept` header asks for JSON.
pub fn wants_json(path: &str, query: Option<&str>, accept: Option<&str>) -> bool {
    if path == RESOLVE_PATH {
        return true;
    }
    let json_accepted = accept.is_some_and(|a| a.contains(DNS_JSON));
    let has_name = query.is_some_and(|q| q.split('&').any(|p| p.starts_with("name=")));
    let has_dns = query.is_some_and(|q| q.split('&').any(|p| p.starts_with("dns=")));
    path == super::doh::PATH && !has_dns && (json_accepted || has_name)
}

/// The wire-format query a JSON request's parameters describe (RD set, EDNS0 with DO as asked).
pub fn query_from_params(query: &str) -> Result<Vec<u8>, JsonRequestError> {
    let mut name = None;
    let mut qtype = RecordType::A;
    let mut dnssec_ok = false;
    let mut checking_disabled = false;
    let mut seen = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if seen.contains(&key) {
            return Err(JsonRequestError::Malformed);
        }
        seen.push(key.clone());
        match key.as_ref() {
            "name" => name = Some(value.into_owned()),
            "type" => qtype = record_type(&value)?,
            "do" => dnssec_ok = flag(&value),
            "cd" => checking_disabled = flag(&value),
            _ => {}
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or(JsonRequestError::MissingName)?;
    if name.len() > 253 + 1 {
        return Err(JsonRequestError::BadName);
    }
    let mut name = Name::from_ascii(&name).map_err(|_| JsonRequestError::BadName)?;
    name.set_fqdn(true);
    let mut message = Message::new(0, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.metadata.checking_disabled = checking_disabled;
    message.add_query(Query::query(name, qtype));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(dnssec_ok);
    edns.set_max_payload(1232);
    message.set_edns(edns);
    message.to_vec().map_err(|_| JsonRequestError::BadName)
}

/// A record type from a mnemonic (any case) or a number.
fn record_type(value: &str) -> Result<RecordType, JsonRequestError> {
    if let Ok(number) = value.parse::<u16>() {
        return Ok(RecordType::from(number));
    }
    RecordType::from_str(&value.to_ascii_uppercase()).map_err(|_| JsonRequestError::BadType)
}

/// `1` and `true` are on; anything else is off.
fn flag(value: &str) -> bool {
    value == "1" || value.eq_ignore_ascii_case("true")
}

/// The JSON rendering of a wire-format response, or `None` if it does not decode.
pub fn response_json(response: &[u8]) -> Option<Value> {
    let message = Message::from_vec(response).ok()?;
    let meta = &message.metadata;
    let mut out = Map::new();
    out.insert("Status".into(), json!(u16::from(meta.response_code)));
    out.insert("TC".into(), json!(meta.truncation));
    out.insert("RD".into(), json!(meta.recursion_desired));
    out.insert("RA".into(), json!(meta.recursion_available));
    out.insert("AD".into(), json!(meta.authentic_data));
    out.insert("CD".into(), json!(meta.checking_disabled));
    let question: Vec<Value> = message
        .queries
        .iter()
        .map(|q| json!({"name": q.name().to_ascii(), "type": u16::from(q.query_type())}))
        .collect();
    out.insert("Question".into(), Value::Array(question));
    for (key, records) in [
        ("Answer", &message.answers),
        ("Authority", &message.authorities),
        ("Additional", &message.additionals),
    ] {
        let rendered: Vec<Value> = records.iter().map(record_json).collect();
        if !rendered.is_empty() {
            out.insert(key.into(), Value::Array(rendered));
        }
    }
    if let Some((code, text)) = wire::ede_of(&message) {
        out.insert("Comment".into(), json!(format!("EDE {code}: {text}")));
    }
    Some(Value::Object(out))
}

/// One record as `{"name","type","TTL","data"}` (data in presentation format; TXT strings
/// quoted, as the public JSON APIs show them).
fn record_json(record: &Record) -> Value {
    let data = match &record.data {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|string| quoted(string))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    json!({
        "name": record.name.to_ascii(),
        "type": u16::from(record.record_type()),
        "TTL": record.ttl,
        "data": data,
    })
}

/// A character-string in presentation format: quoted, `"` and `\` escaped, other bytes outside
/// printable ASCII as `\DDD`.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &byte in bytes {
        match byte {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(byte));
            }
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\{byte:03}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
