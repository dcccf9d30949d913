//! Ports of local instances, from a range kept apart from the kernel's ephemeral ports.
//!
//! A port the kernel may hand to any outgoing connection (its `ip_local_port_range`) can
//! be held by a client socket at the moment an instance's server restarts, and the server
//! then cannot bind it. Instances therefore take ports from a configured range outside
//! that one, chosen at random among the ports no other instance under the same root has
//! recorded and nobody listens on, so platforms that share the machine rarely reach for
//! the same port; a server that still finds its port taken is given another (see
//! `LocalPlatform::deploy`).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use rand::Rng;

use crate::PlatformError;

/// An inclusive range of TCP ports, written `FIRST-LAST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// Below Linux's default ephemeral range (32768–60999) and above the well-known and
    /// commonly registered ports.
    pub const DEFAULT: PortRange = PortRange {
        first: 20000,
        last: 29999,
    };

    pub fn new(first: u16, last: u16) -> Result<Self, String> {
        if first == 0 || first > last {
            return Err(format!(
                "port range {first}-{last} must be FIRST-LAST with 0 < FIRST <= LAST"
            ));
        }
        Ok(Self { first, last })
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }

    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    fn len(&self) -> u32 {
        u32::from(self.last - self.first) + 1
    }

    /// The kernel's ephemeral port range, when this system says.
    pub fn ephemeral() -> Option<PortRange> {
        let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
        let mut numbers = text.split_whitespace().map(str::parse::<u16>);
        let first = numbers.next()?.ok()?;
        let last = numbers.next()?.ok()?;
        PortRange::new(first, last).ok()
    }

    /// A random port of the range that is not in `taken` and that nobody listens on.
    pub fn pick(&self, taken: &[u16], host: &str) -> Result<u16, PlatformError> {
        let mut rng = rand::rng();
        let offset = rng.random_range(0..self.len());
        (0..self.len())
            .map(|step| self.first + ((offset + step) % self.len()) as u16)
            .find(|port| !taken.contains(port) && bindable(host, *port))
            .ok_or_else(|| {
                PlatformError::Failed(format!(
                    "no free port left in the instance port range {self}"
                ))
            })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (first, last) = text
            .split_once('-')
            .ok_or_else(|| format!("port range {text:?} must be FIRST-LAST, e.g. 20000-29999"))?;
        let parse = |part: &str| {
            part.trim()
                .parse::<u16>()
                .map_err(|_| format!("port range {text:?}: {part:?} is not a port number"))
        };
        PortRange::new(parse(first)?, parse(last)?)
    }
}

fn bindable(host: &str, port: u16) -> bool {
    std::net::TcpListener::bind((host, port)).is_ok()
}

/// The ports recorded by every instance under `root` (their `instance.json`: the first
/// server's and its other members'), found by name and by record (an instance found twice
/// counts twice: no harm).
pub fn recorded_under(root: &Path) -> Vec<u16> {
    #[derive(serde::Deserialize)]
    struct Recorded {
        port: u16,
        #[serde(default)]
        members: Vec<Member>,
    }
    #[derive(serde::Deserialize)]
    struct Member {
        port: u16,
    }
    let records = root.join(super::layout::RECORDS);
    [root, records.as_path()]
        .into_iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path().join("instance.json")).ok())
        .filter_map(|bytes| serde_json::from_slice::<Recorded>(&bytes).ok())
        .flat_map(|recorded| {
            std::iter::once(recorded.port).chain(recorded.members.into_iter().map(|m| m.port))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_a_range() {
        let range: PortRange = "20000-20009".parse().unwrap();
        assert_eq!(range.to_string(), "20000-20009");
        assert!(range.contains(20000) && range.contains(20009) && !range.contains(20010));
        assert!("20009-20000".parse::<PortRange>().is_err());
        assert!("0-10".parse::<PortRange>().is_err());
        assert!("20000".parse::<PortRange>().is_err());
        assert!("a-b".parse::<PortRange>().is_err());
    }

    #[test]
    fn the_default_range_is_outside_linux_default_ephemeral_ports() {
        let linux_default = PortRange::new(32768, 60999).unwrap();
        assert!(!PortRange::DEFAULT.overlaps(&linux_default));
        assert!(
            PortRange::new(30000, 32768)
                .unwrap()
                .overlaps(&linux_default)
        );
    }

    #[test]
    fn picks_a_free_port_inside_the_range_and_skips_taken_ones() {
        let range = PortRange::new(24000, 24002).unwrap();
        let port = range.pick(&[24000, 24001], "127.0.0.1").unwrap();
        assert_eq!(port, 24002);
        assert!(range.pick(&[24000, 24001, 24002], "127.0.0.1").is_err());
    }
}
