//! Upload destinations: only http(s), and no private, loopback, link-local, CGNAT, unique-local
//! or metadata addresses (every resolved address is checked) unless explicitly allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DestinationError {
    #[error("invalid destination URL: {0}")]
    Invalid(String),
    #[error("destination scheme must be http or https, not {0:?}")]
    Scheme(String),
    #[error("destination has no host")]
    NoHost,
    #[error("cannot resolve destination host {0:?}")]
    Resolve(String),
    #[error("destination address {0} is private, loopback, link-local or otherwise internal")]
    Forbidden(IpAddr),
}

/// True for addresses a snapshot must never be sent to (by default).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // includes 169.254.169.254 (cloud metadata)
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10 (incl. 100.100.100.200)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        let [a, b] = seg[6].to_be_bytes();
        let [c, d] = seg[7].to_be_bytes();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    if seg[0] == 0x2002 {
        let [a, b] = seg[1].to_be_bytes();
        let [c, d] = seg[2].to_be_bytes();
        if forbidden_v4(Ipv4Addr::new(a, b, c, d)) {
            return true;
        }
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254)
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || seg[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::a.b.c.d
}

/// Parses and checks `url`; returns it with the addresses the upload must connect to.
pub async fn check_destination(
    url: &str,
    allow_private: bool,
) -> Result<(Url, Vec<SocketAddr>), DestinationError> {
    let url = Url::parse(url).map_err(|e| DestinationError::Invalid(e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(DestinationError::Scheme(url.scheme().to_string()));
    }
    let host = url.host_str().ok_or(DestinationError::NoHost)?.to_string();
    let port = url
        .port_or_known_default()
        .ok_or(DestinationError::NoHost)?;
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        _ => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| DestinationError::Resolve(host.clone()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(DestinationError::Resolve(host));
    }
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
            return Err(DestinationError::Forbidden(bad.ip()));
        }
    }
    Ok((url, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
        ] {
            let ip: IpAddr = bad.parse().expect("ip");
            assert!(is_forbidden(ip), "{bad}");
        }
        for good in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            let ip: IpAddr = good.parse().expect("ip");
            assert!(!is_forbidden(ip), "{good}");
        }
    }

    #[tokio::test]
    async fn rejects_before_connecting() {
        for url in [
            "http://127.0.0.1:9/x",
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/x",
            "http://localhost/x",
        ] {
            assert!(
                matches!(
                    check_destination(url, false).await,
                    Err(DestinationError::Forbidden(_))
                ),
                "{url}"
            );
        }
        assert!(matches!(
            check_destination("file:///etc/passwd", false).await,
            Err(DestinationError::Scheme(_))
        ));
        assert!(check_destination("http://127.0.0.1:9/x", true)
            .await
            .is_ok());
    }
}
