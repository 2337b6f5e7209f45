//! The client's address, for throttling and the access log. Behind load balancers each
//! proxy appends the address it received the request from to `X-Forwarded-For`, so only
//! the right-most entries were written by proxies the operator runs; everything left of
//! them came from the client and can be anything.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The socket peer when `trusted_hops` is 0; otherwise the `X-Forwarded-For` entry
/// `trusted_hops` places from the right (the address the outermost trusted proxy saw),
/// or the left-most entry when there are fewer. A malformed entry falls back to the
/// peer, so a client cannot mint a fresh throttling subject with garbage.
pub fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, trusted_hops: usize) -> String {
    let peer_ip = || peer.map(|p| p.ip().to_string()).unwrap_or_default();
    if trusted_hops == 0 {
        return peer_ip();
    }
    // Several headers count as one list, in order (RFC 9110 §5.3).
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if entries.is_empty() {
        return peer_ip();
    }
    let chosen = entries[entries.len().saturating_sub(trusted_hops)];
    match chosen.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => peer_ip(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    const PEER: &str = "10.0.0.9:443";

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let peer = Some(PEER.parse().unwrap());
        // No trusted proxy: the header is ignored.
        assert_eq!(client_address(&headers(&["1.2.3.4"]), peer, 0), "10.0.0.9");
        // One hop (an ALB): what the ALB appended, whatever the client sent before it.
        assert_eq!(client_address(&headers(&["6.6.6.6, 1.2.3.4"]), peer, 1), "1.2.3.4");
        assert_eq!(client_address(&headers(&["6.6.6.6", "1.2.3.4"]), peer, 1), "1.2.3.4");
        // Two hops (a CDN in front of the ALB).
        assert_eq!(client_address(&headers(&["6.6.6.6, 1.2.3.4, 10.1.1.1"]), peer, 2), "1.2.3.4");
        // Fewer entries than hops: the left-most, written by a trusted proxy.
        assert_eq!(client_address(&headers(&["1.2.3.4"]), peer, 2), "1.2.3.4");
        // No header, or garbage where the proxy's entry should be: the peer.
        assert_eq!(client_address(&HeaderMap::new(), peer, 1), "10.0.0.9");
        assert_eq!(client_address(&headers(&["1.2.3.4, not-an-ip"]), peer, 1), "10.0.0.9");
        // IPv6 is normalised, so two spellings are one subject.
        assert_eq!(client_address(&headers(&["2001:DB8:0::1"]), peer, 1), "2001:db8::1");
    }
}
