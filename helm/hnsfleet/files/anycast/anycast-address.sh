#!/bin/sh
# Puts the anycast address on a node (or takes it off), idempotently: a dummy interface
# ANYCAST_INTERFACE (default anycast0) holding ANYCAST_ADDRESS/32 and, when set,
# ANYCAST_ADDRESS6/128. The frontend binds its listeners to that address; BIRD announces it.
# ANYCAST_INTERFACE=lo puts the addresses on the loopback interface instead, for kernels built
# without dummy interfaces (CONFIG_DUMMY).
#
#   anycast-address.sh up      create the interface and the address(es) if missing
#   anycast-address.sh down    delete the interface (with lo: only the addresses)
#
# Run it in the node's network namespace (hostNetwork) with CAP_NET_ADMIN, before the frontend
# starts (an init container), since a listener cannot bind an address the node lacks. It
# also sets arp_ignore=1 on the node, so the node answers ARP only for addresses of the
# interface the request came in on and never claims the anycast address on a shared LAN (the
# routers reach it through BGP, not ARP). Needs iproute2.
set -eu

ifname=${ANYCAST_INTERFACE:-anycast0}
address=${ANYCAST_ADDRESS:-}
address6=${ANYCAST_ADDRESS6:-}

die() { printf 'anycast-address.sh: %s\n' "$*" >&2; exit 64; }
[ -n "$address$address6" ] || die "set ANYCAST_ADDRESS and/or ANYCAST_ADDRESS6"

case ${1:-} in
    up)
        ip link show dev "$ifname" >/dev/null 2>&1 || ip link add "$ifname" type dummy ||
            die "cannot create the dummy interface $ifname (no CONFIG_DUMMY? use ANYCAST_INTERFACE=lo)"
        if [ -n "$address" ]; then
            ip -4 addr show dev "$ifname" | grep -q " $address/32 " ||
                ip addr add "$address/32" dev "$ifname"
            if [ -w /proc/sys/net/ipv4/conf/all/arp_ignore ]; then
                echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore
            fi
        fi
        if [ -n "$address6" ]; then
            ip -6 addr show dev "$ifname" | grep -q " $address6/128 " ||
                ip addr add "$address6/128" dev "$ifname" nodad
        fi
        ip link set "$ifname" up
        ;;
    down)
        if [ "$ifname" = lo ]; then
            [ -z "$address" ] || ip addr del "$address/32" dev lo 2>/dev/null || true
            [ -z "$address6" ] || ip addr del "$address6/128" dev lo 2>/dev/null || true
        elif ip link show dev "$ifname" >/dev/null 2>&1; then
            ip link del "$ifname"
        fi
        ;;
    *) die "usage: anycast-address.sh up|down" ;;
esac
