//! The lab's network: one namespace per zone and one each for the database endpoint and
//! the SMTP relay, each joined to the host by a veth pair with its own /24 inside
//! 10.213.0.0/16. The host routes between them; namespaces get no default route, and an
//! iptables rule drops anything from the lab that would leave through another interface,
//! so no lab packet can reach the machine's default route. Every rule carries the comment `tm-chaos`.

use std::process::Command;

use anyhow::{bail, Context};

/// The lab's zones, the database endpoint's and the SMTP relay's namespaces, with their
/// subnet index.
pub const NAMESPACES: [(&str, u8); 5] = [("a", 1), ("b", 2), ("c", 3), ("db", 10), ("mail", 20)];
pub const PREFIX: &str = "10.213";
pub const SUPERNET: &str = "10.213.0.0/16";
pub const COMMENT: &str = "tm-chaos";

pub fn netns(zone: &str) -> String {
    format!("tmchaos-{zone}")
}

pub fn host_if(zone: &str) -> String {
    format!("tmc-{zone}")
}

fn index(zone: &str) -> u8 {
    NAMESPACES.iter().find(|(z, _)| *z == zone).map(|(_, i)| *i).unwrap_or(0)
}

/// The address inside the namespace (replicas and servers listen there).
pub fn ns_addr(zone: &str) -> String {
    format!("{PREFIX}.{}.2", index(zone))
}

pub fn host_addr(zone: &str) -> String {
    format!("{PREFIX}.{}.1", index(zone))
}

/// Runs a command; fails with its standard error.
pub fn run(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(args[0]).args(&args[1..]).output().with_context(|| format!("running {}", args[0]))?;
    if !out.status.success() {
        bail!("`{}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command and ignores failure (teardown of what may not exist).
pub fn run_quiet(args: &[&str]) {
    let _ = Command::new(args[0]).args(&args[1..]).output();
}

/// Network namespaces need `ip netns` and veth; where they are missing the lab cannot
/// give zones their own links, and says so.
pub fn namespaces_available() -> bool {
    let probe = "tmchaos-probe";
    let ok = run(&["ip", "netns", "add", probe]).is_ok();
    run_quiet(&["ip", "netns", "del", probe]);
    ok
}

/// Refuses to build the lab when the host already routes any of its addresses
/// somewhere other than the default route (a collision with a real network).
pub fn check_subnet_free() -> anyhow::Result<()> {
    let routes = run(&["ip", "-4", "route", "show"])?;
    for line in routes.lines() {
        if line.starts_with(PREFIX) && !line.contains("tmc-") {
            bail!("the host already routes {line:?}; the lab's {SUPERNET} would collide");
        }
    }
    Ok(())
}

/// Where the host sends packets for `addr` (the interface name), from `ip route get`.
pub fn route_dev(addr: &str) -> anyhow::Result<String> {
    let out = run(&["ip", "-4", "route", "get", addr])?;
    let mut words = out.split_whitespace();
    while let Some(w) = words.next() {
        if w == "dev" {
            return Ok(words.next().unwrap_or_default().to_string());
        }
    }
    bail!("no route for {addr}: {out}")
}

/// Checks that every lab address routes into the lab before any traffic is sent.
pub fn assert_routes_into_lab() -> anyhow::Result<()> {
    for (zone, _) in NAMESPACES {
        let addr = ns_addr(zone);
        let dev = route_dev(&addr)?;
        if dev != host_if(zone) {
            bail!("{addr} routes through {dev}, not the lab's {}: refusing to send traffic", host_if(zone));
        }
    }
    Ok(())
}

pub fn up() -> anyhow::Result<()> {
    check_subnet_free()?;
    for (zone, _) in NAMESPACES {
        let ns = netns(zone);
        let host = host_if(zone);
        let peer = format!("{host}-p");
        run(&["ip", "netns", "add", &ns])?;
        run(&["ip", "link", "add", &host, "type", "veth", "peer", "name", &peer])?;
        run(&["ip", "link", "set", &peer, "netns", &ns])?;
        run(&["ip", "-n", &ns, "link", "set", &peer, "name", "eth0"])?;
        run(&["ip", "addr", "add", &format!("{}/24", host_addr(zone)), "dev", &host])?;
        run(&["ip", "link", "set", &host, "up"])?;
        run(&["ip", "-n", &ns, "addr", "add", &format!("{}/24", ns_addr(zone)), "dev", "eth0"])?;
        run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
        run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
        // Only the lab's own addresses are reachable from inside: no default route.
        run(&["ip", "-n", &ns, "route", "add", SUPERNET, "via", &host_addr(zone)])?;
    }
    // Forwarding between the zones (saved and restored by `down`).
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").context("enabling IPv4 forwarding")?;
    let c = ["-m", "comment", "--comment", COMMENT];
    let mut accept = vec!["iptables", "-I", "FORWARD", "1", "-i", "tmc-+", "-o", "tmc-+", "-j", "ACCEPT"];
    accept.extend(c);
    run(&accept)?;
    let mut drop = vec!["iptables", "-I", "FORWARD", "1", "-i", "tmc-+", "!", "-o", "tmc-+", "-j", "DROP"];
    drop.extend(c);
    run(&drop)?;
    assert_routes_into_lab()
}

/// Deletes every lab rule (found by its comment) in the given namespace (or the host).
pub fn flush_rules(ns: Option<&str>) {
    let prefix: Vec<String> = match ns {
        Some(ns) => vec!["ip".into(), "netns".into(), "exec".into(), ns.into()],
        None => vec![],
    };
    let mut save = prefix.clone();
    save.extend(["iptables".into(), "-S".into()]);
    let save: Vec<&str> = save.iter().map(String::as_str).collect();
    let Ok(rules) = run(&save) else { return };
    for line in rules.lines().filter(|l| l.contains(COMMENT) && l.starts_with("-A ")) {
        let mut args: Vec<String> = prefix.clone();
        args.push("iptables".into());
        args.push("-D".into());
        args.extend(split_rule(&line[3..]));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_quiet(&args);
    }
}

/// Splits an `iptables -S` rule, keeping quoted words together.
fn split_rule(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in rule.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn down(ip_forward_before: Option<&str>) {
    flush_rules(None);
    for (zone, _) in NAMESPACES {
        run_quiet(&["ip", "link", "del", &host_if(zone)]);
        run_quiet(&["ip", "netns", "del", &netns(zone)]);
    }
    if let Some(v) = ip_forward_before {
        let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", v);
    }
}

/// Adds an iptables rule (with the lab's comment) inside a namespace.
pub fn ns_rule(ns: &str, rule: &[&str]) -> anyhow::Result<()> {
    let mut args = vec!["ip", "netns", "exec", ns, "iptables", "-A"];
    args.extend(rule);
    args.extend(["-m", "comment", "--comment", COMMENT]);
    run(&args).map(|_| ())
}

#[cfg(test)]
mod tests {
    #[test]
    fn iptables_rules_split_like_the_shell() {
        assert_eq!(
            super::split_rule(r#"OUTPUT -d 10.213.10.2/32 -m comment --comment "tm-chaos" -j DROP"#),
            ["OUTPUT", "-d", "10.213.10.2/32", "-m", "comment", "--comment", "tm-chaos", "-j", "DROP"]
        );
    }
}
