//! Where load may go: loopback, or the project's own test namespaces.
//!
//! The workplace allows load only against this machine: the loopback range and the addresses
//! of test hosts in network namespaces a run creates itself, which this project puts inside
//! 198.18.0.0/15 (RFC 2544's benchmarking range, never routed on the internet). Anything else,
//! private ranges included, is refused before a socket is opened.

use std::net::{IpAddr, Ipv4Addr};

use crate::LoadgenError;

/// `Ok` when `ip` is loopback (127.0.0.0/8, ::1, or ::ffff:127.x.y.z) or inside 198.18.0.0/15.
pub fn check_target(ip: IpAddr) -> Result<(), LoadgenError> {
    let allowed = match ip {
        IpAddr::V4(v4) => v4_allowed(v4),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(v4_allowed),
    };
    if allowed {
        Ok(())
    } else {
        Err(LoadgenError::TargetNotAllowed(ip))
    }
}

fn v4_allowed(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 127 || (a == 198 && (b & 0xfe) == 18)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_the_test_range_pass_everything_else_is_refused() {
        for ok in [
            "127.0.0.1",
            "127.255.3.4",
            "::1",
            "::ffff:127.0.0.1",
            "198.18.0.1",
            "198.19.255.254",
        ] {
            assert!(check_target(ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "0.0.0.0",
            "10.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "1.1.1.1",
            "8.8.8.8",
            "::",
            "2001:db8::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            let err = check_target(bad.parse().unwrap()).unwrap_err();
            assert!(matches!(err, LoadgenError::TargetNotAllowed(_)), "{bad}");
            assert!(err.to_string().contains("198.18.0.0/15"), "{err}");
        }
    }
}
