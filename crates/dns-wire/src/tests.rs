#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType, rdata::TXT};
use proptest::prelude::*;

use super::*;

fn query(name: &str, qtype: RecordType) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    message
}

fn request(message: &Message) -> Request {
    match parse(&message.to_vec().unwrap()) {
        Parsed::Query(request) => *request,
        other => panic!("not a query: {other:?}"),
    }
}

#[test]
fn short_packets_and_responses_are_dropped() {
    assert!(matches!(parse(&[]), Parsed::Drop));
    assert!(matches!(parse(&[0; 11]), Parsed::Drop));
    let mut response = query("a.", RecordType::A).to_vec().unwrap();
    response[2] |= 0x80;
    assert!(matches!(parse(&response), Parsed::Drop));
}

#[test]
fn a_broken_body_gets_formerr_with_the_id() {
    let mut bytes = query("example.", RecordType::A).to_vec().unwrap();
    bytes[0] = 0x12;
    bytes[1] = 0x34;
    bytes.truncate(15); // the question is cut
    let Parsed::Reply(reply) = parse(&bytes) else {
        panic!("expected a reply")
    };
    assert_eq!(reply.id, 0x1234);
    assert_eq!(reply.response_code, ResponseCode::FormErr);
}

#[test]
fn other_opcodes_are_not_implemented_and_two_questions_are_formerr() {
    let mut notify = query("example.", RecordType::SOA);
    notify.metadata.op_code = OpCode::Notify;
    let Parsed::Reply(reply) = parse(&notify.to_vec().unwrap()) else {
        panic!()
    };
    assert_eq!(reply.response_code, ResponseCode::NotImp);

    let mut two = query("a.", RecordType::A);
    two.add_query(Query::query(Name::from_ascii("b.").unwrap(), RecordType::A));
    let Parsed::Reply(reply) = parse(&two.to_vec().unwrap()) else {
        panic!()
    };
    assert_eq!(reply.response_code, ResponseCode::FormErr);
}

#[test]
fn edns_version_one_gets_badvers() {
    let mut message = query("a.", RecordType::A);
    let mut edns = Edns::new();
    edns.set_version(1);
    message.set_edns(edns);
    let Parsed::Reply(reply) = parse(&message.to_vec().unwrap()) else {
        panic!()
    };
    // BADVERS is an extended code: its high bits ride in the OPT record.
    let bytes = reply.to_vec().unwrap();
    let back = Message::from_vec(&bytes).unwrap();
    // 16 is BADVERS in an OPT context (hickory names the shared code BADSIG).
    assert_eq!(u16::from(back.response_code), 16);
    assert_eq!(back.edns.as_ref().map(Edns::version), Some(0));
}

#[test]
fn responses_copy_id_rd_cd_and_the_question_as_sent() {
    let mut message = query("ExAmPle.", RecordType::AAAA);
    message.metadata.id = 777;
    message.metadata.checking_disabled = true;
    message.metadata.recursion_desired = true;
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true);
    edns.set_max_payload(4096);
    message.set_edns(edns);
    let request = request(&message);
    assert!(request.dnssec_ok());
    assert_eq!(request.udp_limit(1232), 1232);
    let response = request.response(ResponseCode::NoError, 1232);
    assert_eq!(response.id, 777);
    assert!(response.recursion_desired);
    assert!(response.checking_disabled);
    assert_eq!(response.queries[0].name().to_ascii(), "ExAmPle.");
    let edns = response.edns.as_ref().unwrap();
    assert!(edns.flags().dnssec_ok);
    assert_eq!(edns.max_payload(), 1232);
}

#[test]
fn without_edns_the_udp_limit_is_512_and_no_opt_is_added() {
    let request = request(&query("a.", RecordType::A));
    assert_eq!(request.udp_limit(1232), CLASSIC_UDP_LIMIT);
    assert!(request.response(ResponseCode::NoError, 1232).edns.is_none());
}

#[test]
fn ede_round_trips() {
    let request = request(&query("a.", RecordType::A));
    let mut response = request.response(ResponseCode::ServFail, 1232);
    add_ede(&mut response, Ede::NotReady, "not synced");
    let back = Message::from_vec(&response.to_vec().unwrap()).unwrap();
    assert_eq!(ede_of(&back), Some((14, "not synced".to_string())));
}

#[test]
fn oversized_answers_are_truncated_keeping_question_and_opt() {
    let mut message = query("big.", RecordType::TXT);
    message.set_edns(Edns::new());
    let request = request(&message);
    let mut response = request.response(ResponseCode::NoError, 1232);
    for i in 0..40 {
        response.add_answer(Record::from_rdata(
            Name::from_ascii("big.").unwrap(),
            300,
            RData::TXT(TXT::new(vec![format!("{i:0>60}")])),
        ));
    }
    let full = encode(&response, STREAM_LIMIT).unwrap();
    assert!(full.len() > 1232);
    let cut = encode(&response, 1232).unwrap();
    assert!(cut.len() <= 1232);
    let back = Message::from_vec(&cut).unwrap();
    assert!(back.truncation);
    assert!(back.answers.is_empty());
    assert_eq!(back.queries.len(), 1);
    assert!(back.edns.is_some());
}

#[test]
fn a_slip_reply_is_an_empty_truncated_response_with_the_question() {
    let mut message = query("ExAmPle.", RecordType::AAAA);
    message.metadata.id = 0xbeef;
    message.metadata.recursion_desired = true;
    message.metadata.checking_disabled = true;
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(true);
    message.set_edns(edns);
    let bytes = message.to_vec().unwrap();
    let reply = slip_reply(&bytes).unwrap();
    assert!(reply.len() < bytes.len(), "no larger than the query");
    let back = Message::from_vec(&reply).unwrap();
    assert_eq!(back.id, 0xbeef);
    assert_eq!(back.message_type, hickory_proto::op::MessageType::Response);
    assert!(back.truncation && back.recursion_desired && back.checking_disabled);
    assert_eq!(back.response_code, ResponseCode::NoError);
    assert_eq!(back.queries, message.queries);
    assert!(back.answers.is_empty() && back.authorities.is_empty() && back.edns.is_none());
}

#[test]
fn no_slip_reply_for_responses_other_opcodes_or_broken_questions() {
    let good = query("a.", RecordType::A).to_vec().unwrap();
    assert!(slip_reply(&good).is_some());
    let mut response = good.clone();
    response[2] |= 0x80;
    let mut notify = good.clone();
    notify[2] |= 4 << 3;
    let mut two = good.clone();
    two[5] = 2;
    let mut pointer = good.clone();
    pointer[12] = 0xc0;
    for bad in [
        response,
        notify,
        two,
        pointer,
        good[..good.len() - 1].to_vec(),
        good[..11].to_vec(),
    ] {
        assert_eq!(slip_reply(&bad), None, "{bad:?}");
    }
}

proptest! {
    /// Whatever arrives, parse answers, replies or drops; a reply always carries the ID.
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        match parse(&bytes) {
            Parsed::Reply(reply) => {
                prop_assert_eq!(reply.id, u16::from_be_bytes([bytes[0], bytes[1]]));
                // The pipeline encodes every reply for UDP: it always fits.
                prop_assert!(encode(&reply, CLASSIC_UDP_LIMIT).is_some());
            }
            Parsed::Query(request) => prop_assert_eq!(request.message.queries.len(), 1),
            Parsed::Drop => {}
        }
    }

    /// A slip reply never panics, is never larger than what came in, and, when there is one,
    /// is a truncated response to the same question.
    #[test]
    fn slip_reply_never_amplifies(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Some(reply) = slip_reply(&bytes) {
            prop_assert!(reply.len() <= bytes.len());
            prop_assert_eq!(&reply[..2], &bytes[..2]);
            prop_assert_eq!(reply[2] & 0x82, 0x82);
        }
    }

    /// For any real query, the slip reply decodes, with the query's ID and question.
    #[test]
    fn slip_reply_of_a_query_decodes(
        labels in proptest::collection::vec("[a-z0-9]{1,20}", 0..6),
        qtype in any::<u16>(),
        id in any::<u16>(),
    ) {
        let name = format!("{}.", labels.join("."));
        let name = if name == "." { name } else { name.trim_start_matches('.').to_string() };
        let mut message = query(&name, RecordType::from(qtype));
        message.metadata.id = id;
        let reply = slip_reply(&message.to_vec().unwrap()).unwrap();
        let back = Message::from_vec(&reply).unwrap();
        prop_assert_eq!(back.id, id);
        prop_assert!(back.truncation);
        prop_assert_eq!(back.queries, message.queries);
    }
}

/// A response to `name` with `answers` TXT records of 40 octets, EDNS0 with an EDE when `ede`.
fn txt_response(name: &str, answers: usize, ede: bool) -> Message {
    let mut message = query(name, RecordType::TXT);
    message.set_edns(Edns::new());
    let request = request(&message);
    let mut response = request.response(ResponseCode::NoError, 1232);
    for i in 0..answers {
        response.add_answer(Record::from_rdata(
            Name::from_ascii(name).unwrap(),
            300,
            RData::TXT(TXT::new(vec![format!("{i:0>40}")])),
        ));
    }
    if ede {
        add_ede(&mut response, Ede::StaleAnswer, "stale");
    }
    response
}

/// The Padding option of `bytes` (decoded), if any.
fn padding_of(bytes: &[u8]) -> Option<Vec<u8>> {
    let message = Message::from_vec(bytes).unwrap();
    match message.edns?.options().get(EdnsCode::Padding)? {
        EdnsOption::Unknown(PADDING_OPTION, data) => Some(data.clone()),
        other => panic!("padding decoded as {other:?}"),
    }
}

#[test]
fn only_encrypted_transports_are_padded_and_only_padded_queries_ask() {
    assert!(Transport::Tls.is_encrypted() && Transport::Https.is_encrypted());
    assert!(!Transport::Udp.is_encrypted() && !Transport::Tcp.is_encrypted());
    let mut message = query("a.", RecordType::A);
    message.set_edns(Edns::new());
    assert!(!request(&message).wants_padding());
    let mut edns = Edns::new();
    edns.options_mut()
        .insert(EdnsOption::Unknown(PADDING_OPTION, vec![0; 17]));
    message.set_edns(edns);
    assert!(request(&message).wants_padding());
    // An empty Padding option asks too.
    let mut edns = Edns::new();
    edns.options_mut()
        .insert(EdnsOption::Unknown(PADDING_OPTION, Vec::new()));
    message.set_edns(edns);
    assert!(request(&message).wants_padding());
}

#[test]
fn a_padded_response_is_a_multiple_of_468_and_decodes_to_the_same_message() {
    for answers in [0, 1, 10, 11, 30] {
        let response = txt_response("pad.example.", answers, true);
        let plain = encode(&response, STREAM_LIMIT).unwrap();
        let mut padded = plain.clone();
        assert!(pad(&mut padded, 0, STREAM_LIMIT));
        assert_eq!(padded.len() % RESPONSE_BLOCK, 0, "{answers} answers");
        assert!(padded.len() >= plain.len() + 4 && padded.len() < plain.len() + 4 + 468);
        let padding = padding_of(&padded).unwrap();
        assert!(padding.iter().all(|b| *b == 0));
        let mut back = Message::from_vec(&padded).unwrap();
        back.edns
            .as_mut()
            .unwrap()
            .options_mut()
            .remove(EdnsCode::Padding);
        assert_eq!(back, Message::from_vec(&plain).unwrap());
        // Padded once: a second call leaves it.
        let again = padded.clone();
        assert!(!pad(&mut padded, 0, STREAM_LIMIT));
        assert_eq!(padded, again);
    }
}

#[test]
fn the_trailer_and_the_limit_bound_the_padding() {
    let plain = encode(&txt_response("pad.", 3, false), STREAM_LIMIT).unwrap();
    // A SIG(0) of 94 octets still to come: message + 94 is the multiple.
    let mut signed = plain.clone();
    assert!(pad(&mut signed, 94, STREAM_LIMIT));
    assert_eq!((signed.len() + 94) % RESPONSE_BLOCK, 0);
    // A limit below the next block: padded up to the limit exactly.
    let limit = plain.len() + 10;
    let mut capped = plain.clone();
    assert!(pad(&mut capped, 0, limit));
    assert_eq!(capped.len(), limit);
    assert_eq!(padding_of(&capped).unwrap().len(), 6);
    // No room for even the option's header: left alone.
    let mut tight = plain.clone();
    assert!(!pad(&mut tight, 0, plain.len() + 3));
    assert_eq!(tight, plain);
}

#[test]
fn messages_without_a_last_opt_are_not_padded() {
    let mut message = query("a.", RecordType::A);
    let no_edns = request(&message).response(ResponseCode::NoError, 1232);
    let mut bytes = encode(&no_edns, STREAM_LIMIT).unwrap();
    let before = bytes.clone();
    assert!(!pad(&mut bytes, 0, STREAM_LIMIT));
    assert_eq!(bytes, before);
    // OPT followed by another record (a SIG appended after it): not touched.
    message.set_edns(Edns::new());
    let mut with_opt = encode(
        &request(&message).response(ResponseCode::NoError, 1232),
        512,
    )
    .unwrap();
    with_opt[11] += 1;
    with_opt.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
    let before = with_opt.clone();
    assert!(!pad(&mut with_opt, 0, STREAM_LIMIT));
    assert_eq!(with_opt, before);
}

proptest! {
    /// Any response with EDNS0: padded to the block (with any trailer), within any limit, it
    /// decodes to the same message plus a zero Padding option.
    #[test]
    fn padding_keeps_the_message_and_lands_on_the_block(
        labels in proptest::collection::vec("[a-z0-9]{1,30}", 1..5),
        answers in 0usize..60,
        ede in any::<bool>(),
        trailer in prop_oneof![Just(0usize), Just(94usize), 0usize..600],
        slack in prop_oneof![Just(usize::MAX), 0usize..1000],
    ) {
        let name = format!("{}.", labels.join("."));
        let plain = encode(&txt_response(&name, answers, ede), STREAM_LIMIT).unwrap();
        let limit = plain.len().saturating_add(slack).min(STREAM_LIMIT);
        let mut padded = plain.clone();
        let did = pad(&mut padded, trailer, limit);
        prop_assert_eq!(did, limit >= plain.len() + 4);
        if !did {
            prop_assert_eq!(&padded, &plain);
            return Ok(());
        }
        prop_assert!(padded.len() <= limit);
        let on_block = (padded.len() + trailer).is_multiple_of(RESPONSE_BLOCK);
        prop_assert!(on_block || padded.len() == limit);
        let padding = padding_of(&padded).unwrap();
        prop_assert_eq!(padding.len() + 4, padded.len() - plain.len());
        let mut back = Message::from_vec(&padded).unwrap();
        back.edns.as_mut().unwrap().options_mut().remove(EdnsCode::Padding);
        prop_assert_eq!(back, Message::from_vec(&plain).unwrap());
    }

    /// Arbitrary bytes: never a panic, never past the limit, and when padded, only grown.
    #[test]
    fn padding_arbitrary_bytes_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        limit in 0usize..2000,
    ) {
        let mut padded = bytes.clone();
        if pad(&mut padded, 0, limit) {
            prop_assert!(padded.len() <= limit && padded.len() >= bytes.len() + 4);
            prop_assert_eq!(&padded[..2], &bytes[..2]);
        } else {
            prop_assert_eq!(padded, bytes);
        }
    }
}
