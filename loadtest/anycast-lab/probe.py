#!/usr/bin/env python3
"""The anycast lab's client: a steady stream of DNS queries, and the analysis of its log.

  probe.py stream --server IP --name NAME --type TYPE --out LOG [--interval-ms 20]
                  [--timeout-ms 1000] [--ttl-base 199]
      Sends one query every interval from one UDP socket (IDs 0..65535 in turn) and appends one
      line per query to LOG once it is answered or timed out:
          SEQ SENT_NS RECV_NS RCODE ANCOUNT NODE
      (wall-clock nanoseconds, the same clock as `date +%s%N`; RECV_NS, RCODE, ANCOUNT and NODE
      are -1 for a query without an answer within the timeout). NODE says which lab node
      answered: each node namespace sends with its own default IP TTL (ttl-base + 1 + node
      number; the router takes one off), read here from the IP header (IP_RECVTTL). Runs until
      SIGTERM or SIGINT, then waits out the queries still open.

  probe.py failover LOG --at NS --node N
      JSON about the queries around an event at wall-clock NS that hit node N: the first good
      answer (NOERROR with answers) from another node received after NS and how long after NS
      it came; over the queries sent from 1 s before NS until that answer, those lost (no
      answer within the timeout) and those answered badly (e.g. SERVFAIL); the answers node N
      still gave after NS.

  probe.py window LOG --from NS --to NS
      JSON counts over the queries sent in [from, to]: sent, answered, good, bad (answered, not
      good), lost, answers per node.

Only the standard library: it runs in a bare network namespace on CI.
"""

import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time

# Linux values; the socket module does not export them.
IP_RECVTTL = 12
IP_TTL = 2

TYPES = {"A": 1, "NS": 2, "SOA": 6, "TXT": 16, "AAAA": 28}


def encode_query(qid, name, qtype):
    """A DNS query with RD set and no EDNS."""
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    labels = [label for label in name.rstrip(".").split(".") if label]
    qname = b"".join(bytes([len(label)]) + label.encode("ascii") for label in labels) + b"\0"
    return header + qname + struct.pack("!HH", qtype, 1)


def stream(args):
    qtype = TYPES[args.type.upper()]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    sock.setblocking(False)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    interval = args.interval_ms * 1_000_000
    timeout = args.timeout_ms * 1_000_000
    pending = {}  # id -> (seq, sent_ns)
    seq = 0
    next_send = time.time_ns()
    with open(args.out, "a", buffering=1) as out:

        def finish(qid, recv_ns, rcode, ancount, node):
            s, sent = pending.pop(qid)
            out.write(f"{s} {sent} {recv_ns} {rcode} {ancount} {node}\n")

        while not stopping or pending:
            now = time.time_ns()
            if not stopping and now >= next_send:
                qid = seq % 65536
                if qid in pending:  # older than 65536 intervals: long timed out
                    finish(qid, -1, -1, -1, -1)
                try:
                    sock.sendto(encode_query(qid, args.name, qtype), (args.server, args.port))
                except OSError:
                    pass  # no route at this instant: counted as lost
                pending[qid] = (seq, now)
                seq += 1
                next_send += interval
                if next_send < now:  # the process was starved: do not burst
                    next_send = now + interval
            for qid, (_, sent) in list(pending.items()):
                if now - sent > timeout:
                    finish(qid, -1, -1, -1, -1)
            wait = max(0, min(next_send - time.time_ns(), 5_000_000)) / 1e9
            ready, _, _ = select.select([sock], [], [], wait)
            if not ready:
                continue
            while True:
                try:
                    data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(4))
                except BlockingIOError:
                    break
                except OSError:
                    continue  # an ICMP error reported on the socket
                recv_ns = time.time_ns()
                if len(data) < 12:
                    continue
                qid, flags, _, ancount = struct.unpack("!HHHH", data[:8])
                if qid not in pending or not flags & 0x8000:
                    continue
                ttl = -1
                for level, kind, value in anc:
                    if level == socket.IPPROTO_IP and kind == IP_TTL:
                        ttl = struct.unpack("i", value[:4])[0]
                node = ttl - args.ttl_base if ttl >= 0 else -1
                finish(qid, recv_ns, flags & 0xF, ancount, node)


def read_log(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 6:
                continue
            seq, sent, recv, rcode, ancount, node = map(int, parts)
            rows.append(
                {"seq": seq, "sent": sent, "recv": recv, "rcode": rcode,
                 "ancount": ancount, "node": node}
            )
    rows.sort(key=lambda r: r["seq"])
    return rows


def good(row):
    return row["recv"] >= 0 and row["rcode"] == 0 and row["ancount"] > 0


def failover(args):
    rows = read_log(args.log)
    after = [r for r in rows if r["recv"] >= args.at or (r["recv"] < 0 and r["sent"] >= args.at)]
    first_other = next(
        (r for r in sorted(after, key=lambda r: r["recv"])
         if r["recv"] >= args.at and good(r) and r["node"] != args.node),
        None,
    )
    until = first_other["recv"] if first_other else None
    # Queries sent from 1 s before the event until the first answer from another node.
    lost = [r for r in rows if r["recv"] < 0 and r["sent"] >= args.at - 1_000_000_000
            and (until is None or r["sent"] <= until)]
    # Answers that were not good (SERVFAIL from a node that lost its trusted root) over the
    # same span.
    bad = [r for r in rows if r["recv"] >= 0 and not good(r)
           and r["sent"] >= args.at - 1_000_000_000 and (until is None or r["sent"] <= until)]
    from_node = [r for r in after if r["recv"] >= 0 and r["node"] == args.node]
    json.dump({
        "node": args.node,
        "first_other_node": first_other["node"] if first_other else None,
        "failover_ms": round((first_other["recv"] - args.at) / 1e6, 1) if first_other else None,
        "lost": len(lost),
        "bad": len(bad),
        "answered_by_node_after": len(from_node),
        "last_answer_by_node_after_ms": round((max(r["recv"] for r in from_node) - args.at) / 1e6, 1)
        if from_node else None,
    }, sys.stdout)
    print()


def window(args):
    rows = [r for r in read_log(args.log) if args.start <= r["sent"] <= args.end]
    per_node = {}
    for r in rows:
        if r["recv"] >= 0:
            key = str(r["node"])
            per_node[key] = per_node.get(key, 0) + 1
    json.dump({
        "sent": len(rows),
        "answered": sum(1 for r in rows if r["recv"] >= 0),
        "good": sum(1 for r in rows if good(r)),
        "bad": sum(1 for r in rows if r["recv"] >= 0 and not good(r)),
        "lost": sum(1 for r in rows if r["recv"] < 0),
        "per_node": per_node,
    }, sys.stdout)
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("stream")
    s.add_argument("--server", required=True)
    s.add_argument("--port", type=int, default=53)
    s.add_argument("--name", required=True)
    s.add_argument("--type", default="TXT", choices=sorted(TYPES))
    s.add_argument("--out", required=True)
    s.add_argument("--interval-ms", type=int, default=20)
    s.add_argument("--timeout-ms", type=int, default=1000)
    s.add_argument("--ttl-base", type=int, default=199)
    f = sub.add_parser("failover")
    f.add_argument("log")
    f.add_argument("--at", type=int, required=True)
    f.add_argument("--node", type=int, required=True)
    w = sub.add_parser("window")
    w.add_argument("log")
    w.add_argument("--from", dest="start", type=int, required=True)
    w.add_argument("--to", dest="end", type=int, required=True)
    args = parser.parse_args()
    {"stream": stream, "failover": failover, "window": window}[args.cmd](args)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        os._exit(1)
