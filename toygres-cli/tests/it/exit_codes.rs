//! Exit codes and messages that need no server: usage errors and an unreachable server.

use std::process::Command;

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_toygres-cli"))
        .args(args)
        .env("TOYGRES_URL", "http://127.0.0.1:1")
        .env_remove("TOYGRES_TOKEN")
        .output()
        .expect("run toygres-cli")
}

fn one_line_error(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one line on stderr: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    stderr
}

#[test]
fn invalid_input_and_usage_mistakes_exit_2_with_one_line() {
    for args in [
        &["create", "Bad_Name"][..],
        &["create", "shop", "--postgres-version", "9"],
        &["create", "shop", "--storage-gb", "0"],
        &["get", "x-"],
        &["bogus"],
        &["list", "--nope"],
        &["wait", "shop", "--for", "sleeping"],
        &["create"],
    ] {
        let output = cli(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        one_line_error(&output);
    }
}

/// clap's message names what is missing or wrong, on the one line.
#[test]
fn a_usage_error_names_the_argument() {
    for (args, named) in [
        (&["get"][..], "<NAME>"),
        (&["create"], "<NAME>"),
        (&["operations", "show"], "<ID>"),
        (&["wait", "shop", "--for", "sleeping"], "running"),
    ] {
        let output = cli(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = one_line_error(&output);
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
}

#[test]
fn help_is_not_an_error() {
    let output = cli(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("connection-string"));
}

#[test]
fn an_unreachable_server_is_exit_4_with_a_readable_line() {
    let output = cli(&["list"]);
    assert_eq!(output.status.code(), Some(4));
    let stderr = one_line_error(&output);
    assert!(
        stderr.contains("cannot reach the Toygres server at http://127.0.0.1:1"),
        "{stderr}"
    );
}
