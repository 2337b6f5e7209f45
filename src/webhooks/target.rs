//! Where a webhook may send: `http`/`https` URLs whose host resolves only to public
//! addresses, so a project owner cannot make the server call its own loopback, the
//! cluster's private network or a cloud metadata endpoint (server-side request
//! forgery). The check runs when the URL is saved (literal addresses) and again at
//! every delivery on the resolved addresses, and the request is pinned to the
//! address that was checked, so a DNS answer that changes in between cannot slip
//! through. An administrator can allow private targets (`webhook_allow_private_targets`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Parses and checks a webhook URL as saved. Literal private addresses and
/// `localhost` are refused here unless allowed; names are checked at delivery.
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, &'static str> {
    let url = Url::parse(raw.trim()).map_err(|_| "url must be an absolute http:// or https:// URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("url must be an absolute http:// or https:// URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url must not carry credentials; the signature authenticates the request");
    }
    let host = url.host_str().ok_or("url must name a host")?;
    if allow_private {
        return Ok(url);
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        if !is_public(ip) {
            return Err("url must not point at a loopback, private or link-local address");
        }
    } else if bare.eq_ignore_ascii_case("localhost") || bare.to_ascii_lowercase().ends_with(".localhost") {
        return Err("url must not point at a loopback, private or link-local address");
    }
    Ok(url)
}

/// Resolves the URL's host and returns an address to connect to, refusing when any
/// resolved address is not public (unless allowed).
pub async fn resolve(url: &Url, allow_private: bool) -> Result<SocketAddr, String> {
    let host = url.host_str().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = url.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<SocketAddr> =
        tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("resolving {host}: {e}"))?.collect();
    let first = *addrs.first().ok_or_else(|| format!("{host} has no address"))?;
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(format!("refused: {host} resolves to {}, a loopback, private or link-local address", bad.ip()));
        }
    }
    Ok(first)
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

/// IPv6 addresses, including the transition forms that carry an IPv4 address: a
/// NAT64 or 6to4 address of 127.0.0.1 reaches loopback through a gateway, so the
/// embedded IPv4 address is checked like any other, and the forms whose endpoint
/// cannot be checked (Teredo, local-use NAT64, IPv4-compatible) are refused.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(s[6], s[7])); // NAT64, well-known prefix 64:ff9b::/96
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded(s[1], s[2])); // 6to4, 2002:V4ADDR::/48
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || s[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::/96 (deprecated)
        || s[..3] == [0x64, 0xff9b, 1] // local-use NAT64 64:ff9b:1::/48
        || s[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x0010) // ORCHID 2001:10::/28
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0) // site-local (deprecated, still routed inside some networks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        for bad in [
            "http://127.0.0.1/hook",
            "http://127.1.2.3:8080/",
            "http://10.0.0.5/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b:1::5db8:d822]/",
            "http://[::7f00:1]/",
            "http://[::5db8:d822]/",
            "http://[2002:7f00:1::]/",
            "http://[2002:a00:1::1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[fec0::1]/",
            "http://[feff::1]/",
            "http://[100::1]/",
            "http://[2001:db8::1]/",
            "http://localhost:9000/",
            "http://api.localhost/",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
            assert!(check_url(bad, true).is_ok(), "{bad} allowed by the administrator");
        }
        for good in [
            "https://hooks.example.com/x",
            "http://93.184.216.34/",
            "https://[2606:4700::1111]/",
            "http://[64:ff9b::5db8:d822]/",
            "http://[2002:5db8:d822::1]/",
        ] {
            assert!(check_url(good, false).is_ok(), "{good}");
        }
        for malformed in
            ["", "hooks.example.com", "ftp://example.com/", "file:///etc/passwd", "https://u:p@example.com/"]
        {
            assert!(check_url(malformed, true).is_err(), "{malformed}");
        }
    }

    #[tokio::test]
    async fn resolution_refuses_names_that_lead_to_loopback() {
        let url = Url::parse("http://localhost:9/").unwrap();
        assert!(resolve(&url, false).await.unwrap_err().contains("private"));
        assert!(resolve(&url, true).await.unwrap().ip().is_loopback());
    }
}
