use proptest::prelude::*;

use super::*;

fn complete(bytes: &[u8], eof: bool) -> HttpResponse {
    match parse_response(bytes, eof) {
        Ok(Parsed::Complete(response)) => response,
        other => panic!("{other:?} for {:?}", String::from_utf8_lossy(bytes)),
    }
}

fn dns(body: &[u8]) -> HttpResponse {
    HttpResponse {
        status: 200,
        content_type: Some(DNS_MESSAGE.to_string()),
        body: body.to_vec(),
    }
}

#[test]
fn request_is_a_post_with_the_params_appended() {
    let params = vec![("hns-proof".to_string(), "1".to_string())];
    let text = String::from_utf8(encode_request("h:8443", "/dns-query", &params, b"Q")).unwrap();
    assert!(
        text.starts_with("POST /dns-query?hns-proof=1 HTTP/1.1\r\nhost: h:8443\r\n"),
        "{text}"
    );
    assert!(text.contains("content-type: application/dns-message\r\n"));
    assert!(text.contains("content-length: 1\r\n"));
    assert!(text.ends_with("\r\n\r\nQ"));
    let text = String::from_utf8(encode_request("h", "/q?a=b", &params, b"")).unwrap();
    assert!(
        text.starts_with("POST /q?a=b&hns-proof=1 HTTP/1.1\r\n"),
        "{text}"
    );
    let odd = vec![("k y".to_string(), "v&=é".to_string())];
    let text = String::from_utf8(encode_request("h", "/", &odd, b"")).unwrap();
    assert!(
        text.starts_with("POST /?k+y=v%26%3D%C3%A9 HTTP/1.1\r\n"),
        "{text}"
    );
}

#[test]
fn content_length_chunked_and_until_close_bodies() {
    let r = complete(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\nContent-Length: 3\r\n\r\nabcEXTRA",
        false,
    );
    assert_eq!(r, dns(b"abc"));
    let r = complete(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/dns-message\r\ntransfer-encoding: chunked\r\n\r\n\
          2;ext=1\r\nab\r\n1\r\nc\r\n0\r\ntrailer: x\r\n\r\n",
        false,
    );
    assert_eq!(r, dns(b"abc"));
    let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/dns-message\r\n\r\nabc";
    assert_eq!(parse_response(head, false), Ok(Parsed::Partial));
    assert_eq!(complete(head, true), dns(b"abc"));
}

#[test]
fn interim_responses_are_skipped() {
    let r = complete(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nlink: x\r\n\r\n\
          HTTP/1.1 200 OK\r\ncontent-type: application/dns-message\r\ncontent-length: 1\r\n\r\nz",
        false,
    );
    assert_eq!(r, dns(b"z"));
    let many = "HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_INTERIM + 1);
    assert!(matches!(
        parse_response(many.as_bytes(), false),
        Err(HttpError::Malformed(_))
    ));
}

#[test]
fn bad_framing_and_limits_are_refused() {
    let cases: &[(&[u8], bool)] = &[
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
            false,
        ),
        (b"HTTP/1.1 200 OK\r\ncontent-length: +1\r\n\r\na", false),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", false),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 1\r\n\r\n",
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nabc\r\n",
            false,
        ),
        (b"HTTP/1.1 101 Switching\r\n\r\n", false),
        (b"NOT HTTP\r\n\r\n", false),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab", true),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 65536\r\n\r\n", false),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10000\r\n",
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n",
            true,
        ),
        (b"HTTP/1.1 200", true),
    ];
    for (bytes, eof) in cases {
        assert!(
            parse_response(bytes, *eof).is_err(),
            "{:?} accepted",
            String::from_utf8_lossy(bytes)
        );
    }
    let mut long_head = b"HTTP/1.1 200 OK\r\nx: ".to_vec();
    long_head.resize(MAX_HEAD + 10, b'a');
    assert_eq!(
        parse_response(&long_head, false),
        Err(HttpError::TooLarge("head"))
    );
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("x{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(
        parse_response(&many, false),
        Err(HttpError::TooLarge("headers"))
    );
    let mut long_chunk_line = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1;".to_vec();
    long_chunk_line.resize(long_chunk_line.len() + MAX_CHUNK_LINE + 2, b'e');
    assert_eq!(
        parse_response(&long_chunk_line, false),
        Err(HttpError::TooLarge("line"))
    );
}

#[test]
fn dns_body_wants_200_and_the_media_type() {
    assert_eq!(dns_body(dns(b"x")), Ok(b"x".to_vec()));
    let mut with_params = dns(b"x");
    with_params.content_type = Some("Application/DNS-Message; charset=x".into());
    assert_eq!(dns_body(with_params), Ok(b"x".to_vec()));
    let mut status = dns(b"");
    status.status = 415;
    assert_eq!(dns_body(status), Err(HttpError::Status(415)));
    let mut html = dns(b"");
    html.content_type = Some("text/html".into());
    assert!(matches!(dns_body(html), Err(HttpError::ContentType(_))));
    let mut none = dns(b"");
    none.content_type = None;
    assert!(matches!(dns_body(none), Err(HttpError::ContentType(_))));
}

#[test]
fn fuzz_body_runs_over_real_responses_and_their_mutations() {
    let real = encode_response(&dns(&[7u8; 40]));
    assert!(hnsfleet_fuzz_bodies::http_response(&real));
    for i in 0..real.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut mutated = real.clone();
            mutated[i] ^= flip;
            hnsfleet_fuzz_bodies::http_response(&mutated);
        }
        hnsfleet_fuzz_bodies::http_response(&real[..i]);
    }
}

fn response() -> impl Strategy<Value = HttpResponse> {
    (
        prop_oneof![200u16..=599, 0u16..=99],
        proptest::option::of("[a-zA-Z0-9/+.;= -]{0,40}"),
        proptest::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|(status, content_type, body)| HttpResponse {
            status,
            content_type: content_type.map(|c| c.trim().to_string()),
            body,
        })
}

proptest! {
    #[test]
    fn encode_then_parse_round_trips(r in response()) {
        prop_assert_eq!(parse_response(&encode_response(&r), false), Ok(Parsed::Complete(r)));
    }

    #[test]
    fn every_prefix_is_partial(r in response(), cut in any::<prop::sample::Index>()) {
        let bytes = encode_response(&r);
        let at = cut.index(bytes.len());
        prop_assert_eq!(parse_response(&bytes[..at], false), Ok(Parsed::Partial));
    }

    #[test]
    fn any_chunking_gives_the_same_body(
        body in proptest::collection::vec(any::<u8>(), 0..400),
        sizes in proptest::collection::vec(1usize..50, 1..20),
    ) {
        let mut bytes = b"HTTP/1.1 200 OK\r\ncontent-type: application/dns-message\r\n\
                          transfer-encoding: chunked\r\n\r\n".to_vec();
        let mut rest = body.as_slice();
        let mut sizes = sizes.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).min(rest.len());
            bytes.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            bytes.extend_from_slice(&rest[..n]);
            bytes.extend_from_slice(b"\r\n");
            rest = &rest[n..];
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        prop_assert_eq!(parse_response(&bytes, false), Ok(Parsed::Complete(dns(&body))));
        prop_assert_eq!(parse_response(&bytes[..bytes.len() - 1], false), Ok(Parsed::Partial));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), eof in any::<bool>()) {
        let _ = parse_response(&bytes, eof);
    }
}
