//! Looking at real processes and ports, to check what is actually running.

use std::path::Path;

/// Pids of postmasters started with `-D <data_dir>`. A child the postmaster has just
/// forked carries the same command line until it renames itself, so processes whose
/// parent is one of the candidates are not counted.
pub fn postmasters_for(data_dir: &Path) -> Vec<i32> {
    let wanted = data_dir.to_string_lossy().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let candidates: Vec<i32> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).to_string())
                .collect();
            let is_postgres = args.first().is_some_and(|a| a.ends_with("postgres"));
            is_postgres && args.windows(2).any(|w| w[0] == "-D" && w[1] == wanted)
        })
        .collect();
    candidates
        .iter()
        .copied()
        .filter(|pid| parent_of(*pid).is_none_or(|parent| !candidates.contains(&parent)))
        .collect()
}

/// The parent of `pid`, from `/proc/<pid>/stat`.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may contain spaces: fields start after its closing ')'.
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Whether anything accepts TCP connections on 127.0.0.1:`port`.
pub fn port_is_listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        std::time::Duration::from_millis(500),
    )
    .is_ok()
}

/// Pids of the direct children of `parent`.
pub fn children_of(parent: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect()
}
