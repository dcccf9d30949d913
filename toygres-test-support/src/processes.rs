//! Looking at real processes and ports, to check what is actually running.

use std::path::Path;

/// `path` with every link resolved (an instance's name links to its record's directory),
/// or as given when it is gone.
fn real_path(path: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Pids of postmasters started with `-D <data_dir>` (the same directory, by any path). A child the postmaster has just
/// forked carries the same command line until it renames itself, so processes whose
/// parent is one of the candidates are not counted.
pub fn postmasters_for(data_dir: &Path) -> Vec<i32> {
    let wanted = real_path(data_dir);
    let candidates: Vec<i32> = command_lines()
        .into_iter()
        .filter(|(_, args)| {
            let is_postgres = args.first().is_some_and(|a| a.ends_with("postgres"));
            is_postgres
                && args
                    .windows(2)
                    .any(|w| w[0] == "-D" && real_path(Path::new(&w[1])) == wanted)
        })
        .map(|(pid, _)| pid)
        .collect();
    candidates
        .iter()
        .copied()
        .filter(|pid| parent_of(*pid).is_none_or(|parent| !candidates.contains(&parent)))
        .collect()
}

/// Pids of `program` processes with an argument inside `dir` (one instance's `initdb`,
/// say). A process that has exited, even one not yet reaped, is not among them.
pub fn working_in(program: &str, dir: &Path) -> Vec<i32> {
    let (given, real) = (dir.to_path_buf(), real_path(dir));
    command_lines()
        .into_iter()
        .filter(|(_, args)| {
            args.first().is_some_and(|a| a.ends_with(program))
                && args.iter().map(Path::new).any(|arg| {
                    arg.starts_with(&given)
                        || (arg.is_absolute() && real_path(arg).starts_with(&real))
                })
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// The pgBackRest `backup` processes (not its `stanza-create`) of `stanza`.
pub fn pgbackrest_backing_up(stanza: &str) -> Vec<i32> {
    let stanza_arg = format!("--stanza={stanza}");
    pgbackrest_where(|args| {
        args.contains(&stanza_arg) && args.last().is_some_and(|a| a == "backup")
    })
}

/// The pgBackRest processes working in `dir` (their `--pg1-path` inside it).
pub fn pgbackrest_in(dir: &Path) -> Vec<i32> {
    let (given, real) = (dir.to_path_buf(), real_path(dir));
    pgbackrest_where(|args| {
        args.iter()
            .filter_map(|arg| arg.strip_prefix("--pg1-path="))
            .map(Path::new)
            .any(|path| path.starts_with(&given) || real_path(path).starts_with(&real))
    })
}

fn pgbackrest_where(matches: impl Fn(&[String]) -> bool) -> Vec<i32> {
    command_lines()
        .into_iter()
        .filter(|(_, args)| {
            args.first().is_some_and(|a| a.ends_with("pgbackrest")) && matches(args)
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Every process's pid and arguments (none for a zombie).
fn command_lines() -> Vec<(i32, Vec<String>)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args = raw
                .split(|b| *b == 0)
                .filter(|arg| !arg.is_empty())
                .map(|arg| String::from_utf8_lossy(arg).to_string())
                .collect();
            Some((pid, args))
        })
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
