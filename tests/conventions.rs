//! The habits users bring from ripgrep, fd and ImageMagick (issue 21):
//! completions and a man page, `-` for stdin and stdout, `-q`, `--color`,
//! grouped and wrapped help, a version that names its commit and CPU.

mod common;

use std::process::Output;

use assert_cmd::Command;

use common::{defect_detect, Fixture};

/// The binary without the colour variables of the environment running the
/// tests.
fn plain() -> Command {
    let mut command = defect_detect();
    command.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

fn generated(what: &str) -> String {
    let output = plain().args(["--generate", what]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "--generate {what}");
    text(&output.stdout)
}

#[test]
fn generate_writes_each_shells_completions_and_the_man_page() {
    let cases = [
        (
            "complete-bash",
            "complete -F _defect__detect",
            "--max-shift",
        ),
        ("complete-zsh", "#compdef defect-detect", "--max-shift"),
        ("complete-fish", "complete -c defect-detect", "-l max-shift"),
        (
            "complete-powershell",
            "Register-ArgumentCompleter",
            "--max-shift",
        ),
        ("man", ".TH defect-detect 1", "max\\-shift"),
    ];
    for (what, marker, flag) in cases {
        let out = generated(what);
        assert!(out.contains(marker), "{what}: no `{marker}`");
        assert!(out.contains(flag), "{what}: no `{flag}`");
    }
}

/// The README's bash step, run: the script loads and completes a flag.
#[test]
fn bash_completion_loads_and_completes_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("defect-detect.bash");
    std::fs::write(&script, generated("complete-bash")).unwrap();
    let Ok(output) = std::process::Command::new("bash")
        .arg("-c")
        .arg(
            r#"source "$0" && COMP_WORDS=(defect-detect --max-s) COMP_CWORD=1 && _defect__detect defect-detect --max-s defect-detect && echo "${COMPREPLY[@]}""#,
        )
        .arg(&script)
        .output()
    else {
        eprintln!("no bash: skipped");
        return;
    };
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), "--max-shift");
}

/// The man page is a page `man` renders: roff without errors (a line too
/// long to justify, an example, is typography, not an error).
#[test]
fn man_page_renders() {
    let page = generated("man");
    let Ok(mut child) = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-z", "-Wbreak"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("no groff: skipped");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(text(&output.stderr), "", "groff's errors");
}

fn inspect_sample(args: &[&str]) -> Output {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_cut("cut.png");
    let output = plain()
        .arg(&reference)
        .arg(&test)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{args:?}");
    output
}

#[test]
fn quiet_prints_nothing_on_stdout() {
    let output = inspect_sample(&["-q"]);
    assert_eq!(text(&output.stdout), "");
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn quiet_still_prints_an_asked_for_json_or_jsonl() {
    for format in ["--json", "--jsonl"] {
        let output = inspect_sample(&["-q", format]);
        let first = text(&output.stdout);
        let first = first.lines().next().unwrap_or_default().to_owned();
        assert!(first.starts_with('{'), "{format}: {first}");
    }
}

const ESCAPE: &str = "\x1b[";

#[test]
fn color_always_paints_the_kinds_and_the_verdict() {
    let out = text(&inspect_sample(&["--color", "always"]).stdout);
    assert!(out.contains("\x1b[38;5;39mcut"), "{out:?}");
    assert!(out.contains("\x1b[1;31mFAIL\x1b[0m"), "{out:?}");
}

#[test]
fn color_auto_is_plain_when_piped_and_never_is_plain_always() {
    for args in [&["--color", "auto"][..], &["--color", "never"], &[]] {
        let out = text(&inspect_sample(args).stdout);
        assert!(!out.contains(ESCAPE), "{args:?}: {out:?}");
    }
}

#[test]
fn clicolor_force_colours_a_pipe_and_no_color_wins_over_it() {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_cut("cut.png");
    let run = |vars: &[(&str, &str)], color: &str| {
        let mut command = plain();
        command.arg(&reference).arg(&test).args(["--color", color]);
        for (name, value) in vars {
            command.env(name, value);
        }
        text(&command.output().unwrap().stdout).contains(ESCAPE)
    };
    assert!(run(&[("CLICOLOR_FORCE", "1")], "auto"));
    assert!(!run(&[("CLICOLOR_FORCE", "0")], "auto"));
    assert!(!run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], "auto"));
    assert!(!run(&[("CLICOLOR_FORCE", "1")], "never"));
    assert!(run(&[("NO_COLOR", "1")], "always"));
}

#[test]
fn errors_are_bold_in_colour() {
    let f = Fixture::new();
    let reference = f.reference();
    let output = plain()
        .arg(&reference)
        .arg(f.path("missing.png"))
        .args(["--color", "always"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("\x1b[1mdefect-detect: error: ") && stderr.contains("missing.png"),
        "{stderr:?}"
    );
}

#[test]
fn help_groups_flags_under_headings_and_ends_with_examples() {
    let help = text(&plain().arg("--help").output().unwrap().stdout);
    // Each flag's line and the heading it is listed under.
    let mut heading = "";
    let mut under = std::collections::HashMap::new();
    for line in help.lines() {
        if line.ends_with(':') && !line.starts_with(' ') {
            heading = line;
        } else if let Some(flag) = line
            .trim_start()
            .split([' ', ','])
            .find(|w| w.starts_with("--"))
        {
            under.entry(flag.to_owned()).or_insert(heading);
        }
    }
    let expected = [
        ("--pairs", "Inputs:"),
        ("--recursive", "Inputs:"),
        ("--json", "Outputs:"),
        ("--color", "Outputs:"),
        ("--tolerance", "Inspection:"),
        ("--ignore-mask", "Inspection:"),
        ("--align", "Registration:"),
        ("--max-shift", "Registration:"),
        ("--jobs", "Performance:"),
        ("--shard", "Performance:"),
    ];
    for (flag, heading) in expected {
        assert_eq!(under.get(flag), Some(&heading), "{flag}");
    }
    let examples = help.rfind("\nExamples:\n").expect("an Examples section");
    assert!(help[examples..].contains("defect-detect good.png test.png -o annotated.png"));
}

#[test]
fn help_is_wrapped_to_the_terminal_width() {
    for columns in [60, 80] {
        let help = text(
            &plain()
                .arg("--help")
                .env("COLUMNS", columns.to_string())
                .output()
                .unwrap()
                .stdout,
        );
        let widest = help.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= columns, "{columns} columns: a line of {widest}");
        assert!(
            widest > columns - 10,
            "{columns} columns: lines of {widest} at most"
        );
    }
}

#[test]
fn version_names_the_commit_and_the_instruction_sets() {
    for flag in ["-V", "--version"] {
        let version = text(&plain().arg(flag).output().unwrap().stdout);
        let mut lines = version.lines();
        let first = lines.next().unwrap();
        let expected = format!("defect-detect {}", env!("CARGO_PKG_VERSION"));
        assert!(first.starts_with(&expected), "{first}");
        let head = std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output();
        if let Some(head) = head.ok().filter(|h| h.status.success()) {
            let head = text(&head.stdout);
            assert!(
                first.ends_with(&format!("(rev {})", head.trim())),
                "{first}"
            );
        }
        #[cfg(target_arch = "x86_64")]
        {
            let runtime = lines.find(|l| l.starts_with("simd(runtime):")).unwrap();
            let avx2 = if std::arch::is_x86_feature_detected!("avx2") {
                "+avx2"
            } else {
                "-avx2"
            };
            assert!(runtime.split([':', ',']).any(|f| f == avx2), "{runtime}");
        }
    }
}
