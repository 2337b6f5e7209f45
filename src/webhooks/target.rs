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

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
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
            "http://localhost:9000/",
            "http://api.localhost/",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
            assert!(check_url(bad, true).is_ok(), "{bad} allowed by the administrator");
        }
        for good in ["https://hooks.example.com/x", "http://93.184.216.34/", "https://[2606:4700::1111]/"] {
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
