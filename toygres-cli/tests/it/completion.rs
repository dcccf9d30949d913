//! `completion bash|zsh|fish`: the scripts come out without a server, and the bash one,
//! loaded into a real bash, completes subcommands, their subcommands and their flags.

use std::process::Command;

fn script(shell: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_toygres-cli"))
        .args(["completion", shell])
        .env("TOYGRES_URL", "http://127.0.0.1:1")
        .output()
        .expect("run toygres-cli");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// What bash offers for the last of `words`, with the script loaded.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source <('{cli}' completion bash)\n\
         COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n\
         _toygres__cli toygres-cli '{cur}' '{prev}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        cli = env!("CARGO_BIN_EXE_toygres-cli"),
        words = quoted.join(" "),
        cword = words.len() - 1,
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let output = Command::new("bash")
        .args(["-c", &program])
        .output()
        .expect("run bash");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_their_flags() {
    assert_eq!(
        bash_completes(&["toygres-cli", "con"]),
        ["config", "connection-string"]
    );
    assert_eq!(
        bash_completes(&["toygres-cli", "config", "s"]),
        ["show", "set"]
    );
    assert_eq!(bash_completes(&["toygres-cli", "delete", "--y"]), ["--yes"]);
    assert_eq!(
        bash_completes(&["toygres-cli", "list", "--sel"]),
        ["--selector"]
    );
}

#[test]
fn zsh_and_fish_get_scripts_of_their_own() {
    let zsh = script("zsh");
    assert!(zsh.starts_with("#compdef toygres-cli"), "{zsh}");
    assert!(zsh.contains("'label:"), "subcommands are described");
    let fish = script("fish");
    assert!(fish.contains("complete -c toygres-cli"), "{fish}");
    assert!(fish.contains("-l selector"), "flags are there");
}
