use std::str::FromStr;

use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use proptest::prelude::*;

use super::*;

fn limits() -> Limits {
    Limits {
        capacity_bytes: 1 << 20,
        max_lifetime: Duration::from_secs(3600),
    }
}

fn query(id: u16, name: &str, qtype: RecordType, dnssec_ok: bool) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.id = id;
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), qtype));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(dnssec_ok);
    edns.set_max_payload(1232);
    message.set_edns(edns);
    message.to_vec().unwrap()
}

fn response_to(query: &[u8], ttls: &[u32], rcode: ResponseCode) -> Vec<u8> {
    let request = Message::from_vec(query).unwrap();
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.response_code = rcode;
    response.metadata.recursion_desired = true;
    response.metadata.recursion_available = true;
    let question = request.queries[0].clone();
    let name = question.name().clone();
    response.add_query(question);
    for (i, &ttl) in ttls.iter().enumerate() {
        let last = u8::try_from(i).unwrap();
        response.add_answer(Record::from_rdata(
            name.clone(),
            ttl,
            RData::A(A::new(192, 0, 2, last)),
        ));
    }
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    response.set_edns(edns);
    response.to_vec().unwrap()
}

#[test]
fn a_hit_patches_the_id_and_keeps_the_rest() {
    let cache = PacketCache::new(limits());
    let first = query(1, "www.example.", RecordType::A, false);
    let key = Key::of(0, &first).unwrap();
    let stored = response_to(&first, &[300, 60], ResponseCode::NoError);
    cache.insert(&key, &stored, "meta").unwrap();

    let second = query(0xBEEF, "www.example.", RecordType::A, false);
    let key = Key::of(0, &second).unwrap();
    let (hit, meta) = cache.get(&key, &second).unwrap();
    assert_eq!(meta, "meta");
    let decoded = Message::from_vec(&hit).unwrap();
    assert_eq!(decoded.metadata.id, 0xBEEF);
    assert_eq!(decoded.metadata.message_type, MessageType::Response);
    assert_eq!(decoded.answers.len(), 2);
    // Everything after the ID is the stored response's (no time has passed).
    assert_eq!(hit[2..], stored[2..]);

    // Another spelling of the name is another question: the answer may echo the spelling.
    let mut cased = second.clone();
    cased[13] = b'W';
    assert!(cache.get(&Key::of(0, &cased).unwrap(), &cased).is_none());
}

#[test]
fn ttls_age_with_the_entry_and_it_ends_at_nine_tenths_of_the_smallest() {
    let cache = PacketCache::new(limits());
    let q = query(7, "fleet.", RecordType::A, false);
    let key = Key::of(0, &q).unwrap();
    let stored = response_to(&q, &[300, 100], ResponseCode::NoError);
    cache.insert(&key, &stored, ()).unwrap();
    let stored_at = cache
        .entries
        .as_ref()
        .unwrap()
        .get(key.as_bytes())
        .unwrap()
        .stored;

    let (hit, ()) = cache
        .get_at(&key, &q, stored_at + Duration::from_millis(42_500), 0)
        .unwrap();
    let ttls: Vec<u32> = Message::from_vec(&hit)
        .unwrap()
        .answers
        .iter()
        .map(|r| r.ttl)
        .collect();
    assert_eq!(ttls, [258, 58]);
    // OPT's flags are not a TTL: untouched.
    assert_eq!(
        Message::from_vec(&hit).unwrap().edns,
        Message::from_vec(&stored).unwrap().edns
    );
    assert!(
        cache
            .get_at(&key, &q, stored_at + Duration::from_secs(89), 0)
            .is_some()
    );
    assert!(
        cache
            .get_at(&key, &q, stored_at + Duration::from_secs(90), 0)
            .is_none()
    );
}

#[test]
fn keys_separate_what_changes_the_answer() {
    let plain = query(1, "fleet.", RecordType::A, false);
    let key = |variant, q: &[u8]| Key::of(variant, q).unwrap().as_bytes().to_vec();
    let base = key(0, &plain);
    assert_eq!(
        base,
        key(0, &query(99, "fleet.", RecordType::A, false)),
        "ID"
    );
    let mut cased = plain.clone();
    cased[13] = b'F';
    assert_ne!(base, key(0, &cased), "spelling");
    assert_ne!(base, key(1, &plain), "variant");
    assert_ne!(base, key(0, &query(1, "fleet.", RecordType::A, true)), "DO");
    assert_ne!(
        base,
        key(0, &query(1, "fleet.", RecordType::AAAA, false)),
        "type"
    );
    assert_ne!(
        base,
        key(0, &query(1, "fleex.", RecordType::A, false)),
        "name"
    );
    let mut no_rd = plain.clone();
    no_rd[2] &= !1;
    assert_ne!(base, key(0, &no_rd), "RD");
}

#[test]
fn only_plain_queries_have_keys() {
    let plain = query(1, "fleet.", RecordType::A, false);
    let mut response = plain.clone();
    response[2] |= 0x80;
    assert!(Key::of(0, &response).is_none(), "QR=1");
    let mut notify = plain.clone();
    notify[2] |= 4 << 3;
    assert!(Key::of(0, &notify).is_none(), "opcode NOTIFY");
    let mut two = plain.clone();
    two[5] = 2;
    assert!(Key::of(0, &two).is_none(), "two questions");
    assert!(Key::of(0, &plain[..11]).is_none(), "short");
    assert!(Key::of(0, &[plain.clone(), vec![0; MAX_KEY]].concat()).is_none());
}

#[test]
fn only_sound_cacheable_responses_are_stored() {
    let cache = PacketCache::new(limits());
    let q = query(1, "fleet.", RecordType::A, false);
    let key = Key::of(0, &q).unwrap();
    let servfail = response_to(&q, &[300], ResponseCode::ServFail);
    assert_eq!(
        cache.insert(&key, &servfail, ()),
        Err(NotStored::NotCacheable)
    );
    let mut truncated = response_to(&q, &[300], ResponseCode::NoError);
    truncated[2] |= 0x02;
    assert_eq!(
        cache.insert(&key, &truncated, ()),
        Err(NotStored::NotCacheable)
    );
    let empty = response_to(&q, &[], ResponseCode::NoError);
    assert_eq!(cache.insert(&key, &empty, ()), Err(NotStored::TooShort));
    let zero = response_to(&q, &[300, 1], ResponseCode::NoError);
    assert_eq!(cache.insert(&key, &zero, ()), Err(NotStored::TooShort));
    let other = response_to(
        &query(1, "other.", RecordType::A, false),
        &[300],
        ResponseCode::NoError,
    );
    assert_eq!(
        cache.insert(&key, &other, ()),
        Err(NotStored::OtherQuestion)
    );
    let mut trailing = response_to(&q, &[300], ResponseCode::NoError);
    trailing.push(0);
    assert_eq!(cache.insert(&key, &trailing, ()), Err(NotStored::Malformed));
    let good = response_to(&q, &[300], ResponseCode::NoError);
    assert_eq!(
        cache.insert(&key, &good[..good.len() - 1], ()),
        Err(NotStored::Malformed)
    );
    assert!(cache.get(&key, &q).is_none(), "nothing was stored");
    assert_eq!(cache.insert(&key, &good, ()), Ok(()));
    assert!(cache.get(&key, &q).is_some());
}

#[test]
fn negative_answers_age_their_soa() {
    let cache = PacketCache::new(limits());
    let q = query(1, "absent.", RecordType::A, true);
    let key = Key::of(0, &q).unwrap();
    let request = Message::from_vec(&q).unwrap();
    let mut response = Message::response(1, request.metadata.op_code);
    response.metadata.response_code = ResponseCode::NXDomain;
    response.add_query(request.queries[0].clone());
    let soa = SOA::new(
        Name::root(),
        Name::from_str("hostmaster.").unwrap(),
        1,
        1800,
        900,
        604_800,
        86_400,
    );
    response.add_authority(Record::from_rdata(Name::root(), 86_400, RData::SOA(soa)));
    let bytes = response.to_vec().unwrap();
    cache.insert(&key, &bytes, ()).unwrap();
    let entry = cache.entries.as_ref().unwrap().get(key.as_bytes()).unwrap();
    assert_eq!(
        entry.lifetime,
        Duration::from_secs(3600),
        "max_lifetime caps"
    );
    let (hit, ()) = cache
        .get_at(&key, &q, entry.stored + Duration::from_secs(10), 0)
        .unwrap();
    assert_eq!(Message::from_vec(&hit).unwrap().authorities[0].ttl, 86_390);
}

#[test]
fn a_disabled_cache_stores_nothing() {
    let cache = PacketCache::new(Limits {
        capacity_bytes: 0,
        max_lifetime: Duration::from_secs(60),
    });
    let q = query(1, "fleet.", RecordType::A, false);
    let key = Key::of(0, &q).unwrap();
    let good = response_to(&q, &[300], ResponseCode::NoError);
    assert!(!cache.is_enabled());
    assert_eq!(cache.insert(&key, &good, ()), Err(NotStored::Disabled));
    assert!(cache.get(&key, &q).is_none());
}

#[test]
fn a_flood_of_one_off_queries_keeps_popular_entries_and_the_byte_bound() {
    // Room for about a hundred entries of ~300 bytes.
    let capacity_bytes = 32 * 1024;
    let cache = PacketCache::new(Limits {
        capacity_bytes,
        max_lifetime: Duration::from_secs(3600),
    });
    let popular: Vec<Vec<u8>> = (0..10)
        .map(|i| query(1, &format!("popular{i}.example."), RecordType::A, false))
        .collect();
    for q in &popular {
        let key = Key::of(0, q).unwrap();
        cache
            .insert(&key, &response_to(q, &[300], ResponseCode::NoError), ())
            .unwrap();
    }
    let mut one_off_bytes = 0;
    for i in 0..20_000 {
        // The popular names keep being asked while strangers ask names nobody repeats.
        for q in &popular {
            assert!(cache.get(&Key::of(0, q).unwrap(), q).is_some(), "after {i}");
        }
        let q = query(1, &format!("once{i}.example."), RecordType::A, false);
        let response = response_to(&q, &[300], ResponseCode::NoError);
        one_off_bytes += q.len() + response.len();
        cache
            .insert(&Key::of(0, &q).unwrap(), &response, ())
            .unwrap();
    }
    assert!(one_off_bytes as u64 > 50 * capacity_bytes);
    let held = cache.weight();
    assert!(held <= capacity_bytes, "{held} bytes held");
}

#[test]
fn clear_forgets_everything() {
    let cache = PacketCache::new(limits());
    let q = query(1, "fleet.", RecordType::A, false);
    let key = Key::of(0, &q).unwrap();
    cache
        .insert(&key, &response_to(&q, &[300], ResponseCode::NoError), ())
        .unwrap();
    cache.clear();
    assert!(cache.get(&key, &q).is_none());
}

#[test]
fn answer_min_ttl_reads_answers_and_authorities_only() {
    let q = query(1, "fleet.", RecordType::A, true);
    let r = response_to(&q, &[300, 60, 900], ResponseCode::NoError);
    assert_eq!(answer_min_ttl(&r), Some(60));
    // The OPT record (additional) is not a lifetime; no answer means no TTL.
    assert_eq!(
        answer_min_ttl(&response_to(&q, &[], ResponseCode::NoError)),
        None
    );
    // An authority record counts (a negative answer's SOA).
    let mut negative = Message::from_vec(&response_to(&q, &[], ResponseCode::NXDomain)).unwrap();
    negative.add_authority(Record::from_rdata(
        Name::from_str("fleet.").unwrap(),
        42,
        RData::A(A::new(192, 0, 2, 1)),
    ));
    assert_eq!(answer_min_ttl(&negative.to_vec().unwrap()), Some(42));
    // Cut anywhere inside the records: no figure rather than a wrong one.
    for cut in 30..r.len() - 11 {
        let figure = answer_min_ttl(&r[..cut]);
        assert!(
            figure.is_none() || figure == Some(60) || figure == Some(300),
            "{cut}"
        );
    }
}

proptest! {
    /// Hostile bytes as a query and as a response: never a panic, and whatever is stored
    /// comes back with the asker's ID.
    #[test]
    fn arbitrary_bytes_never_panic(q in proptest::collection::vec(any::<u8>(), 0..600),
                                   r in proptest::collection::vec(any::<u8>(), 0..600)) {
        let cache = PacketCache::new(limits());
        if let Some(key) = Key::of(3, &q)
            && cache.insert(&key, &r, ()).is_ok()
        {
            let (hit, ()) = cache.get(&key, &q).unwrap();
            prop_assert_eq!(&hit[..2], &q[..2]);
            prop_assert_eq!(hit.len(), r.len());
        }
    }

    /// A real response to a real query with flipped bytes: never a panic.
    #[test]
    fn mutated_responses_never_panic(at in 0usize..200, value in any::<u8>()) {
        let cache = PacketCache::new(limits());
        let q = query(1, "fleet.", RecordType::A, false);
        let key = Key::of(0, &q).unwrap();
        let mut r = response_to(&q, &[300, 60], ResponseCode::NoError);
        let len = r.len();
        r[at % len] = value;
        let _ = cache.insert(&key, &r, ());
        let _ = cache.get(&key, &q);
        let _ = answer_min_ttl(&r);
    }

    /// The wire reading agrees with hickory's decoding on real responses.
    #[test]
    fn answer_min_ttl_matches_a_full_decode(ttls in proptest::collection::vec(any::<u32>(), 1..6)) {
        let q = query(7, "fleet.", RecordType::A, false);
        let r = response_to(&q, &ttls, ResponseCode::NoError);
        let decoded = Message::from_vec(&r).unwrap();
        let expected = decoded.answers.iter().chain(decoded.authorities.iter()).map(|r| r.ttl).min();
        prop_assert_eq!(answer_min_ttl(&r), expected);
    }
}
