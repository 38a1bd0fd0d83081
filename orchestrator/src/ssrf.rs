//! Outbound destination policy for `http` steps (and the sidecar's snapshot uploads): which
//! addresses are internal, and a DNS resolver for `reqwest` that refuses them.
//!
//! Refused by default: unspecified, loopback, private (RFC 1918), link-local (which holds the
//! cloud metadata address 169.254.169.254), CGNAT 100.64/10 (Alibaba's metadata
//! 100.100.100.200), unique-local fc00::/7 (AWS's fd00:ec2::254), site-local, multicast,
//! broadcast, documentation, benchmarking and reserved ranges, and every IPv6 form that embeds
//! an IPv4 address (IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64, 6to4, Teredo) when
//! that address would be refused.
//!
//! [`GuardedResolver`] resolves a name once and hands `reqwest` only checked addresses, so the
//! connection goes to the address that was checked (no DNS-rebinding window).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// The URL does not parse.
    #[error("invalid destination URL: {0}")]
    Invalid(String),
    /// Not http or https.
    #[error("destination scheme must be http or https, not {0:?}")]
    Scheme(String),
    /// No host in the URL.
    #[error("destination has no host")]
    NoHost,
    /// DNS resolution failed or gave no address.
    #[error("cannot resolve destination host {0:?}")]
    Resolve(String),
    /// The destination resolves to an internal address.
    #[error(
        "destination address {0} is private, loopback, link-local, metadata or otherwise \
         internal (refused unless private destinations are allowed by configuration)"
    )]
    Forbidden(IpAddr),
}

/// True for addresses outbound requests must not reach unless explicitly allowed.
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

fn v4_at(seg: &[u16]) -> Ipv4Addr {
    let [a, b] = seg[0].to_be_bytes();
    let [c, d] = seg[1].to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    // NAT64 well-known prefix 64:ff9b::/96 embeds an IPv4 address.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(v4_at(&seg[6..]));
    }
    // 6to4 2002::/16 embeds one in bits 16..48.
    if seg[0] == 0x2002 && forbidden_v4(v4_at(&seg[1..3])) {
        return true;
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // ::/80 (IPv4-compatible ::a.b.c.d) and IPv4-translated ::ffff:0:a.b.c.d
        || (seg[..4] == [0, 0, 0, 0] && (seg[4] == 0 || (seg[4] == 0xffff && seg[5] == 0)))
        || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1) // local-use NAT64 64:ff9b:1::/48
        || (seg[0] == 0x2001 && seg[1] == 0) // Teredo 2001::/32 (tunnels to any IPv4)
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254)
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
}

/// Which destinations are permitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Permit every address, internal ones included.
    pub allow_private: bool,
    /// Internal addresses permitted anyway (e.g. one known service on the host).
    pub allowed: Vec<IpAddr>,
}

impl Policy {
    /// The policy that permits everything when `allow_private`, else only public addresses.
    pub fn new(allow_private: bool) -> Self {
        Self {
            allow_private,
            allowed: Vec::new(),
        }
    }

    /// Whether `ip` may be connected to.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let canonical = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allow_private || !is_forbidden(ip) || self.allowed.contains(&canonical)
    }
}

/// The IP address of a URL host written as a literal (`"10.0.0.1"`, `"[::1]"`).
pub fn literal_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// Checks what can be checked without DNS: the scheme is http(s), there is a host, and a
/// literal IP host is allowed.
pub fn check_url(url: &reqwest::Url, policy: &Policy) -> Result<(), DestinationError> {
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(DestinationError::Scheme(url.scheme().to_string()));
    }
    let host = url.host_str().ok_or(DestinationError::NoHost)?;
    match literal_ip(host) {
        Some(ip) if !policy.permits(ip) => Err(DestinationError::Forbidden(ip)),
        _ => Ok(()),
    }
}

/// Resolves `host` once; refuses when any address is not permitted.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    policy: &Policy,
) -> Result<Vec<SocketAddr>, DestinationError> {
    let addrs: Vec<SocketAddr> = match literal_ip(host) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| DestinationError::Resolve(host.to_string()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(DestinationError::Resolve(host.to_string()));
    }
    if let Some(bad) = addrs.iter().find(|a| !policy.permits(a.ip())) {
        return Err(DestinationError::Forbidden(bad.ip()));
    }
    Ok(addrs)
}

/// A `reqwest` resolver that only returns checked addresses: the client connects to exactly
/// what was checked, on every request and every redirect hop.
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    /// What may be connected to.
    pub policy: std::sync::Arc<Policy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs = resolve_checked(name.as_str(), 0, &policy).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The [`DestinationError`] somewhere in `err`'s source chain, if any.
pub fn find_destination_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a DestinationError> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(d) = e.downcast_ref::<DestinationError>() {
            return Some(d);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        let refused = [
            "127.0.0.1",
            "127.255.255.254",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.100.100.200",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "192.0.0.170",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::ffff:0:7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:a00:1::",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
        ];
        for s in refused {
            let ip: IpAddr = s.parse().expect("ip");
            assert!(is_forbidden(ip), "{s} should be refused");
        }
        let allowed = [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "100.63.255.255",
            "172.32.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        for s in allowed {
            let ip: IpAddr = s.parse().expect("ip");
            assert!(!is_forbidden(ip), "{s} should be allowed");
        }
    }

    #[test]
    fn urls_checked_without_dns() {
        let url = |s: &str| reqwest::Url::parse(s).expect("url");
        let strict = Policy::default();
        assert!(matches!(
            check_url(&url("http://169.254.169.254/latest/meta-data"), &strict),
            Err(DestinationError::Forbidden(_))
        ));
        assert!(matches!(
            check_url(&url("http://[::ffff:7f00:1]:8080/"), &strict),
            Err(DestinationError::Forbidden(_))
        ));
        assert!(matches!(
            check_url(&url("file:///etc/passwd"), &strict),
            Err(DestinationError::Scheme(_))
        ));
        assert_eq!(
            check_url(&url("http://127.0.0.1:9/"), &Policy::new(true)),
            Ok(())
        );
        assert_eq!(check_url(&url("https://example.com/"), &strict), Ok(()));
        // One internal address allowed by name, also in its IPv4-mapped form; others not.
        let one = Policy {
            allowed: vec!["127.0.0.1".parse().expect("ip")],
            ..Policy::default()
        };
        assert_eq!(check_url(&url("http://127.0.0.1:9/"), &one), Ok(()));
        assert_eq!(
            check_url(&url("http://[::ffff:127.0.0.1]:9/"), &one),
            Ok(())
        );
        assert!(check_url(&url("http://127.0.0.2:9/"), &one).is_err());
        assert!(check_url(&url("http://[::1]:9/"), &one).is_err());
        assert_eq!(literal_ip("[::1]"), Some("::1".parse().expect("ip")));
        assert_eq!(literal_ip("example.com"), None);
    }

    #[tokio::test]
    async fn resolution_is_checked() {
        let strict = Policy::default();
        assert!(matches!(
            resolve_checked("localhost", 80, &strict).await,
            Err(DestinationError::Forbidden(_))
        ));
        assert!(resolve_checked("localhost", 80, &Policy::new(true))
            .await
            .is_ok());
        assert!(matches!(
            resolve_checked("[::1]", 80, &strict).await,
            Err(DestinationError::Forbidden(_))
        ));
    }
}
