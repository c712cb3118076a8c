#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hickory_proto::dnssec::Algorithm;
use hickory_proto::dnssec::rdata::sig::SigInput;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, RRSIG};
use hickory_proto::op::{Edns, Query};
use hickory_proto::rr::rdata::{A, NS, SOA};
use hickory_proto::rr::{Name, SerialNumber};

use super::*;

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn request(qname: &str, qtype: RecordType, dnssec_ok: bool) -> Request {
    let mut message = Message::query();
    message.add_query(Query::query(name(qname), qtype));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(dnssec_ok);
    message.set_edns(edns);
    match wire::parse(&message.to_vec().unwrap()) {
        Parsed::Query(request) => *request,
        other => panic!("not a query: {other:?}"),
    }
}

fn rrsig(owner: &str, covered: RecordType) -> Record {
    let input = SigInput {
        type_covered: covered,
        algorithm: Algorithm::ECDSAP256SHA256,
        num_labels: 2,
        original_ttl: 300,
        sig_expiration: SerialNumber::new(2),
        sig_inception: SerialNumber::new(1),
        key_tag: 1,
        signer_name: name("example."),
    };
    Record::from_rdata(
        name(owner),
        300,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![0; 64]))),
    )
}

/// A positive answer from a wildcard, as recursion returns it: the A and its RRSIG, and in the
/// authority section the zone's NS, an SOA, and the NSEC (with its RRSIG) proving no closer
/// match.
fn wildcard_answer() -> Resolved {
    let a = Record::from_rdata(name("www.example."), 300, RData::A(A::new(192, 0, 2, 1)));
    let ns = Record::from_rdata(name("example."), 300, RData::NS(NS(name("ns.example."))));
    let soa = Record::from_rdata(
        name("example."),
        300,
        RData::SOA(SOA::new(
            name("ns.example."),
            name("h.example."),
            1,
            2,
            3,
            4,
            5,
        )),
    );
    let nsec = Record::from_rdata(
        name("v.example."),
        300,
        RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
            name("x.example."),
            [RecordType::A],
        ))),
    );
    Resolved {
        rcode: ResponseCode::NoError,
        answers: vec![a, rrsig("www.example.", RecordType::A)],
        authorities: vec![
            ns,
            rrsig("example.", RecordType::NS),
            soa,
            nsec,
            rrsig("v.example.", RecordType::NSEC),
        ],
        secure: true,
    }
}

fn types(records: &[Record]) -> Vec<RecordType> {
    records.iter().map(Record::record_type).collect()
}

#[test]
fn positive_answers_are_minimal_without_do() {
    let request = request("www.example.", RecordType::A, false);
    let mut response = request.response(ResponseCode::NoError, 1232);
    fill(&mut response, &request, wildcard_answer());
    assert_eq!(types(&response.answers), [RecordType::A]);
    assert!(
        response.authorities.is_empty(),
        "{:?}",
        response.authorities
    );
    assert!(response.additionals.is_empty());
    assert!(!response.authentic_data);
}

#[test]
fn positive_answers_keep_only_the_wildcard_proof_with_do() {
    let request = request("www.example.", RecordType::A, true);
    let mut response = request.response(ResponseCode::NoError, 1232);
    fill(&mut response, &request, wildcard_answer());
    assert_eq!(types(&response.answers), [RecordType::A, RecordType::RRSIG]);
    // No NS, no SOA, no RRSIG over the NS: the NSEC and its RRSIG only.
    assert_eq!(
        types(&response.authorities),
        [RecordType::NSEC, RecordType::RRSIG]
    );
    assert!(response.authentic_data);
}

#[test]
fn negative_answers_keep_their_soa_and_denial() {
    let mut resolved = wildcard_answer();
    resolved.rcode = ResponseCode::NXDomain;
    resolved.answers.clear();
    resolved
        .authorities
        .retain(|r| r.record_type() != RecordType::NS);
    let request = request("nope.example.", RecordType::A, true);
    let mut response = request.response(ResponseCode::NoError, 1232);
    fill(&mut response, &request, resolved);
    assert_eq!(response.response_code, ResponseCode::NXDomain);
    assert_eq!(
        types(&response.authorities),
        [
            RecordType::RRSIG,
            RecordType::SOA,
            RecordType::NSEC,
            RecordType::RRSIG
        ]
    );
}

#[test]
fn the_rfc8482_answer_is_one_hinfo_record() {
    let record = rfc8482_hinfo(name("example."));
    assert_eq!(record.record_type(), RecordType::HINFO);
    assert_eq!(record.ttl, RFC8482_TTL);
    let RData::HINFO(hinfo) = &record.data else {
        panic!("not HINFO")
    };
    assert_eq!(&*hinfo.cpu, b"RFC8482");
    assert!(hinfo.os.is_empty());
}
