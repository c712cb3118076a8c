#!/usr/bin/env python3
"""Builds the fuzz seed corpora (fuzz/seeds/<target>/) from the real test vectors.

Run from anywhere; writes one file per seed, named by the SHA-1 of its bytes (libFuzzer's
convention), so re-running is idempotent. The seeds are committed; this script documents where
they come from. `cargo test -p hnsfleet-fuzz-bodies` checks that every seed reaches its round trip.

One seed is not derived from a vector and is kept by hand: seeds/attestation/regtest-tip-151,
the tip of the prepared regtest chain (height 151) as a hnsfleet-attestation SignedAttestation
signed with the test key 0x07 repeated 32 times. And seeds/brontide_recv/transcript-message-0 is
the first initiator transport message of crates/brontide/testdata/vectors.json (hsd's own
brontide.js, fixed keys — the same keys the `brontide_recv` body uses).
"""
import base64
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "crates/hns/testdata"
SEEDS = ROOT / "fuzz/seeds"


def put(target, blob):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(blob).hexdigest()).write_bytes(blob)


def dns_query(name, qtype, edns=True, do=True, qid=0x1234):
    """A DNS query as dig sends it: RD, one question, EDNS0 (1232 bytes, DO) unless `edns` is off."""
    header = qid.to_bytes(2, "big") + b"\x01\x00" + b"\x00\x01\x00\x00\x00\x00"
    header += b"\x00\x01" if edns else b"\x00\x00"
    qname = b"".join(len(l).to_bytes(1, "big") + l.encode() for l in name.split(".") if l) + b"\x00"
    body = qname + qtype.to_bytes(2, "big") + b"\x00\x01"
    if edns:
        body += b"\x00\x00\x29\x04\xd0\x00\x00" + (b"\x80\x00" if do else b"\x00\x00") + b"\x00\x00"
    return header + body


def main():
    # DNS queries as clients send them (the frontend's request decoder): A/AAAA/TXT/DS/NS of HNS
    # names with and without EDNS0, the root, and a long name.
    for name, qtype, edns in [("www.fleetns", 1, True), ("fleetns", 2, True), ("fleettxt", 16, False),
                              ("", 6, True), ("www.example.com", 28, True), ("fleetds", 43, True),
                              ("a" * 63 + "." + "b" * 63 + ".hns", 1, True)]:
        put("dns_query", dns_query(name, qtype, edns))
        # The packet cache keys and replays the same client bytes.
        put("packet_cache", dns_query(name, qtype, edns))
    # Headers: mainnet test headers, the hnsd checkpoint run, the four genesis headers.
    for h in json.loads((DATA / "mainnet-headers-hsd-testdata.json").read_text())["headers"]:
        put("header", bytes.fromhex(h["headerHex"]))
    blob = (DATA / "hnsd-checkpoint-main-136000.bin").read_bytes()
    for i in range(0, 150, 30):
        put("header", blob[36 + 236 * i : 36 + 236 * (i + 1)])
    for net in json.loads((DATA / "genesis-headers.json").read_text()).values():
        put("header", bytes.fromhex(net["headerHex"]))

    put("checkpoint_blob", blob)

    # hns.conf: the documented nameserver line form (hns-dns.md §5.5) in a small file.
    put("hnsconf", b"# hnsfleet\nnameserver aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk@127.0.0.1:25350\n"
        b"nameserver [::1]:53\nsearch example\noptions ndots:1\n")

    # DoH answers as hnsfleet-client reads them: content-length (hyper's form), chunked after an
    # interim response, and an error body delimited by the end of the connection.
    answer = b"\x12\x34\x81\x80" + b"\x00\x01\x00\x00\x00\x00\x00\x00"
    put("http_response", b"HTTP/1.1 200 OK\r\ncontent-type: application/dns-message\r\n"
        b"content-length: 12\r\ncache-control: max-age=300\r\n\r\n" + answer)
    put("http_response", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
        b"content-type: application/dns-message\r\ntransfer-encoding: chunked\r\n\r\n"
        b"4;x=y\r\n" + answer[:4] + b"\r\n8\r\n" + answer[4:] + b"\r\n0\r\nx-trailer: 1\r\n\r\n")
    put("http_response", b"HTTP/1.1 415 Unsupported Media Type\r\ncontent-type: text/plain\r\n"
        b"connection: close\r\n\r\nunsupported")

    # Urkel proofs, NameStates and resources from the real regtest node.
    proofs = json.loads((DATA / "regtest/regtest-names-proofs.json").read_text())
    for n in proofs["names"]:
        put("proof", bytes.fromhex(n["proof"]))
        put("namestate", bytes.fromhex(n["nameStateRaw"]))
        put("resource", bytes.fromhex(n["resourceRaw"]))
    for a in proofs["absent"]:
        put("proof", bytes.fromhex(a["proof"]))
    # Resource vectors R1/R2 of hns-dns.md §1.6 (from hsd test/resource-test.js).
    put("resource", bytes.fromhex(
        "0000e00b08022095a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e201036e733103686e730002036e7332c02c7f00000103036e7334c02c00000000000000000000000000000001047f000002050000000000000000000000000000000206010b68656c6c6f20776f726c64"))
    put("resource", bytes.fromhex("0001036e7331076578616d706c6503636f6d0001036e7332c006"))

    # SIG(0): the signed vector of hns-dns.md §5.6 (hsd 8.0.0 hsig.sign).
    put("sig0", bytes.fromhex(
        "123484000001000100000001076578616d706c650000100001c00c0010000100005460000c0b68656c6c6f20776f726c64"
        "00001800ff0000000000530000fd00000000006554456065539ca0fc5300"
        "7c2bac36fcfd63db810a7cadf5bb3a65789a0043bb598c87603b399824c9b5ed63b88cb7538be8b7fed4b469a68c7a9b5fff7fb886cc67b94324f02a0f719ccf"))

    # p2p: every frame of the real hsd sessions, whole (frame target) and as packets.
    transcript = json.loads((DATA / "regtest/regtest-p2p-transcript.json").read_text())
    for f in (f for f in transcript["transcript"] if "frame" in f):
        frame = bytes.fromhex(f["frame"])
        put("p2p_frame", frame)
        put("p2p_packet", frame)


if __name__ == "__main__":
    main()
