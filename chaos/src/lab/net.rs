//! The lab's network: one namespace per zone and one each for the database endpoint and
//! the SMTP relay, each joined to the host by a veth pair with its own /24 inside
//! 10.213.0.0/16. The host routes between them; namespaces get no default route, and an
//! iptables rule drops anything from the lab that would leave through another interface,
//! so no lab packet can reach the machine's default route. Every rule carries the comment `tm-chaos`.
//!
//! Where network namespaces are unavailable the lab falls back to groups of loopback
//! addresses (`127.213.N.2`, every one of them on `lo`, so nothing can leave the machine):
//! each zone listens on its own address, each zone reaches the database endpoint at its
//! own address (`127.213.10.11` for zone a, `.12`, `.13`), and the faults a link would
//! carry become iptables rules on those addresses. Reports say which network a drill ran on.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// The lab's zones, the database endpoint's and the SMTP relay's namespaces, with their
/// subnet index.
pub const NAMESPACES: [(&str, u8); 5] = [("a", 1), ("b", 2), ("c", 3), ("db", 10), ("mail", 20)];
pub const PREFIX: &str = "10.213";
pub const SUPERNET: &str = "10.213.0.0/16";
pub const LOOPBACK_PREFIX: &str = "127.213";
pub const COMMENT: &str = "tm-chaos";

/// How zones are separated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Network {
    /// A network namespace and a veth link per zone (faults cut links).
    #[default]
    Namespaces,
    /// Groups of loopback addresses (faults are iptables rules on `lo`).
    Loopback,
}

impl Network {
    pub fn describe(self) -> &'static str {
        match self {
            Network::Namespaces => "network namespaces: each zone has its own namespace and veth link in 10.213.0.0/16",
            Network::Loopback => {
                "loopback fallback (for machines without network namespaces): zones are groups of loopback addresses \
                 127.213.N.2 on lo; partitions, database loss and cuts are iptables rules on those addresses; \
                 connections leave from 127.0.0.1, so a partitioned zone still sends (its packets to the \
                 database endpoint and the answers to it are dropped) and a partition of the standby's zone \
                 does not cut its replication stream"
            }
        }
    }
}

static LOOPBACK: AtomicBool = AtomicBool::new(false);

/// Set by whatever builds or loads the lab, before any address is used.
pub fn set_mode(network: Network) {
    LOOPBACK.store(network == Network::Loopback, Ordering::Relaxed);
}

pub fn mode() -> Network {
    if LOOPBACK.load(Ordering::Relaxed) {
        Network::Loopback
    } else {
        Network::Namespaces
    }
}

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
    zone_addr(mode(), zone)
}

fn zone_addr(network: Network, zone: &str) -> String {
    match network {
        Network::Namespaces => format!("{PREFIX}.{}.2", index(zone)),
        Network::Loopback => format!("{LOOPBACK_PREFIX}.{}.2", index(zone)),
    }
}

pub fn host_addr(zone: &str) -> String {
    format!("{PREFIX}.{}.1", index(zone))
}

/// The addresses the database endpoint listens on: one in its namespace, or on loopback
/// one per zone, so a fault can cut one zone's database traffic by address.
pub fn db_endpoint_addrs() -> Vec<String> {
    endpoint_addrs(mode())
}

fn endpoint_addrs(network: Network) -> Vec<String> {
    let mut addrs: Vec<String> = ["a", "b", "c"].iter().map(|z| endpoint_addr(network, z)).collect();
    addrs.dedup();
    addrs
}

/// Where a replica of `zone` reaches the database endpoint.
pub fn db_endpoint_addr(zone: &str) -> String {
    endpoint_addr(mode(), zone)
}

fn endpoint_addr(network: Network, zone: &str) -> String {
    match network {
        Network::Namespaces => zone_addr(network, "db"),
        Network::Loopback => format!("{LOOPBACK_PREFIX}.{}.{}", index("db"), 10 + index(zone)),
    }
}

/// The source addresses PostgreSQL trusts (`pg_hba.conf`).
pub fn trusted_sources() -> &'static str {
    match mode() {
        Network::Namespaces => SUPERNET,
        Network::Loopback => "127.0.0.0/8",
    }
}

/// The command that runs `program` inside a zone: `ip netns exec`, or on loopback the
/// program itself, first moved into the zone's cgroup so `lab down` finds it after a crash.
pub fn zone_command(zone: &str, program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
    match mode() {
        Network::Namespaces => {
            let mut c = tokio::process::Command::new("ip");
            c.args(["netns", "exec", &netns(zone)]).arg(program);
            c
        }
        Network::Loopback => {
            let procs = crate::lab::replica::zone_cgroup_procs(zone);
            let mut c = tokio::process::Command::new("sh");
            c.args(["-c", &format!("echo $$ > {} && exec \"$0\" \"$@\"", procs.display())]).arg(program);
            c
        }
    }
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

/// Network namespaces need `ip netns` and veth; where they are missing the lab falls
/// back to loopback addresses, and says so.
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

/// Checks that every lab address routes into the lab (its link, or `lo`) before any
/// traffic is sent.
pub fn assert_routes_into_lab() -> anyhow::Result<()> {
    let mut addrs: Vec<(String, String)> = NAMESPACES
        .iter()
        .map(|(zone, _)| {
            let dev = if mode() == Network::Loopback { "lo".to_string() } else { host_if(zone) };
            (ns_addr(zone), dev)
        })
        .collect();
    if mode() == Network::Loopback {
        addrs.extend(db_endpoint_addrs().into_iter().map(|a| (a, "lo".to_string())));
    }
    for (addr, want) in addrs {
        let dev = route_dev(&addr)?;
        if dev != want {
            bail!("{addr} routes through {dev}, not the lab's {want}: refusing to send traffic");
        }
    }
    Ok(())
}

pub fn up() -> anyhow::Result<()> {
    if mode() == Network::Loopback {
        // Every 127/8 address is already on `lo`: nothing to create, only to check.
        return assert_routes_into_lab();
    }
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
    flush_rules_tagged(ns, COMMENT)
}

/// Deletes the rules whose comment contains `tag`.
fn flush_rules_tagged(ns: Option<&str>, tag: &str) {
    let prefix: Vec<String> = match ns {
        Some(ns) => vec!["ip".into(), "netns".into(), "exec".into(), ns.into()],
        None => vec![],
    };
    let mut save = prefix.clone();
    save.extend(["iptables".into(), "-S".into()]);
    let save: Vec<&str> = save.iter().map(String::as_str).collect();
    let Ok(rules) = run(&save) else { return };
    for line in rules.lines().filter(|l| l.contains(tag) && l.starts_with("-A ")) {
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

/// Adds a fault's rule on the host's OUTPUT chain (loopback lab), commented with the
/// fault's name so reverting one fault leaves the others.
pub fn fault_rule(fault: &str, rule: &[&str]) -> anyhow::Result<()> {
    let comment = format!("{COMMENT}-fault-{fault}");
    let mut args = vec!["iptables", "-I", "OUTPUT", "1"];
    args.extend(rule);
    args.extend(["-m", "comment", "--comment", &comment, "-j", "DROP"]);
    run(&args).map(|_| ())
}

/// Removes one fault's host rules, or every fault's with `None`.
pub fn clear_fault_rules(fault: Option<&str>) {
    // No fault's name is the start of another's, so a name selects its own rules.
    let tag = format!("{COMMENT}-fault-{}", fault.unwrap_or_default());
    flush_rules_tagged(None, &tag);
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
    use super::{endpoint_addr, endpoint_addrs, route_dev, zone_addr, Network};

    #[test]
    fn loopback_zones_have_their_own_addresses_on_lo() {
        let zones = ["a", "b", "c", "db", "mail"];
        let mut addrs: Vec<String> = zones.iter().map(|z| zone_addr(Network::Loopback, z)).collect();
        addrs.extend(endpoint_addrs(Network::Loopback));
        let mut unique = addrs.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), zones.len() + 3, "{addrs:?}");
        for a in &addrs {
            assert!(a.starts_with("127.213."), "{a}");
            // The kernel's own answer: every one of them stays on this machine.
            assert_eq!(route_dev(a).unwrap(), "lo", "{a}");
        }
        // Each zone's database traffic is told apart by the endpoint address it uses.
        assert_ne!(endpoint_addr(Network::Loopback, "a"), endpoint_addr(Network::Loopback, "c"));
        assert_eq!(endpoint_addrs(Network::Namespaces), [zone_addr(Network::Namespaces, "db")]);
        assert_eq!(zone_addr(Network::Namespaces, "c"), "10.213.3.2");
    }

    #[test]
    fn iptables_rules_split_like_the_shell() {
        assert_eq!(
            super::split_rule(r#"OUTPUT -d 10.213.10.2/32 -m comment --comment "tm-chaos" -j DROP"#),
            ["OUTPUT", "-d", "10.213.10.2/32", "-m", "comment", "--comment", "tm-chaos", "-j", "DROP"]
        );
    }
}
