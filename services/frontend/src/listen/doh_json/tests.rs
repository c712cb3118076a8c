use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;

fn decoded(params: &str) -> Message {
    Message::from_vec(&query_from_params(params).unwrap()).unwrap()
}

#[test]
fn parameters_become_a_recursive_query() {
    let q = decoded("name=www.fleetns&type=aaaa&do=1&cd=true");
    assert_eq!(q.queries[0].name().to_ascii(), "www.fleetns.");
    assert_eq!(q.queries[0].query_type(), RecordType::AAAA);
    assert!(q.metadata.recursion_desired);
    assert!(q.metadata.checking_disabled);
    assert!(q.edns.as_ref().unwrap().flags().dnssec_ok);
    // Defaults: type A, no DO, no CD; numbers and percent-encoding work.
    let q = decoded("name=fleetns.");
    assert_eq!(q.queries[0].query_type(), RecordType::A);
    assert!(!q.edns.as_ref().unwrap().flags().dnssec_ok);
    assert!(!q.metadata.checking_disabled);
    assert_eq!(
        decoded("name=fleet%6Es&type=16").queries[0].query_type(),
        RecordType::TXT
    );
    assert_eq!(
        decoded("name=fleet%6Es&type=16").queries[0]
            .name()
            .to_ascii(),
        "fleetns."
    );
}

#[test]
fn bad_parameters_are_refused_with_a_reason() {
    assert_eq!(
        query_from_params("type=A"),
        Err(JsonRequestError::MissingName)
    );
    assert_eq!(
        query_from_params("name="),
        Err(JsonRequestError::MissingName)
    );
    assert_eq!(
        query_from_params("name=fleetns&type=NOPE"),
        Err(JsonRequestError::BadType)
    );
    assert_eq!(
        query_from_params(&format!("name={}", "a".repeat(300))),
        Err(JsonRequestError::BadName)
    );
    assert_eq!(
        query_from_params(&format!("name={}.fleet", "a".repeat(64))),
        Err(JsonRequestError::BadName)
    );
    assert_eq!(
        query_from_params("name=a&name=b"),
        Err(JsonRequestError::Malformed)
    );
}

#[test]
fn which_requests_want_json() {
    assert!(wants_json("/resolve", Some("name=x"), None));
    assert!(wants_json("/dns-query", Some("name=x&type=A"), None));
    assert!(wants_json("/dns-query", Some("name=x"), Some(DNS_JSON)));
    assert!(wants_json(
        "/dns-query",
        None,
        Some("application/dns-json, */*")
    ));
    assert!(!wants_json("/dns-query", Some("dns=AAAB"), None));
    assert!(!wants_json("/dns-query", Some("dns=AAAB"), Some(DNS_JSON)));
    assert!(!wants_json(
        "/dns-query",
        None,
        Some("application/dns-message")
    ));
    assert!(!wants_json("/elsewhere", Some("name=x"), Some(DNS_JSON)));
}

#[test]
fn a_response_renders_like_the_public_json_apis() {
    let query = decoded("name=fleettxt&type=TXT&do=1");
    let mut response = Message::response(0, query.metadata.op_code);
    response.metadata.recursion_desired = true;
    response.metadata.recursion_available = true;
    response.metadata.authentic_data = true;
    response.add_query(query.queries[0].clone());
    let name = Name::from_ascii("fleettxt.").unwrap();
    response.add_answer(Record::from_rdata(
        name.clone(),
        300,
        RData::TXT(TXT::new(vec!["hello world".into()])),
    ));
    response.add_authority(Record::from_rdata(name, 60, RData::A(A::new(192, 0, 2, 1))));
    let json = response_json(&response.to_vec().unwrap()).unwrap();
    assert_eq!(json["Status"], 0);
    assert_eq!(json["AD"], true);
    assert_eq!(json["RA"], true);
    assert_eq!(json["TC"], false);
    assert_eq!(json["Question"][0]["name"], "fleettxt.");
    assert_eq!(json["Question"][0]["type"], 16);
    assert_eq!(json["Answer"][0]["type"], 16);
    assert_eq!(json["Answer"][0]["TTL"], 300);
    assert_eq!(json["Answer"][0]["data"], "\"hello world\"");
    assert_eq!(json["Authority"][0]["data"], "192.0.2.1");
    assert!(
        json.get("Additional").is_none(),
        "empty sections are left out"
    );
    assert!(json.get("Comment").is_none());

    let mut failed = Message::response(0, query.metadata.op_code);
    failed.metadata.response_code = ResponseCode::ServFail;
    failed.add_query(query.queries[0].clone());
    let mut edns = hickory_proto::op::Edns::new();
    edns.set_max_payload(1232);
    failed.set_edns(edns);
    wire::add_ede(&mut failed, wire::Ede::NotReady, "no trusted root");
    let json = response_json(&failed.to_vec().unwrap()).unwrap();
    assert_eq!(json["Status"], 2);
    assert_eq!(json["Comment"], "EDE 14: no trusted root");
    assert!(response_json(b"garbage").is_none());
}

#[test]
fn txt_strings_are_quoted_and_escaped() {
    assert_eq!(quoted(b"plain text"), "\"plain text\"");
    assert_eq!(quoted(b"a\"b\\c\x01\xff"), "\"a\\\"b\\\\c\\001\\255\"");
}
