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
            .starts_with('-')
            .then(|| {
                line.trim_start()
                    .split([' ', ','])
                    .find(|w| w.starts_with("--"))
            })
            .flatten()
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

/// The JSON Schema in the repository, compiled; `def` picks one of its
/// `$defs` instead of the document.
fn schema(def: Option<&str>) -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/report.schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if let Some(def) = def {
        schema = serde_json::json!({
            "$schema": schema["$schema"],
            "$defs": schema["$defs"],
            "$ref": format!("#/$defs/{def}"),
        });
    }
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, instance: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{instance:#}");
}

/// A run with defects, a failed pair, every option away from its default.
fn varied_run(f: &Fixture, format: &str) -> Output {
    let reference = f.reference();
    let mask = f.save("mask.png", &image::GrayImage::new(200, 200));
    let output = plain()
        .arg(&reference)
        .arg(f.with_cut("cut.png"))
        .arg(f.with_flash("flash.png"))
        .arg(f.path("missing.png"))
        .args([
            "--threshold",
            "100",
            "--polarity",
            "dark",
            "--align",
            "translate",
        ])
        .args(["--ignore", "0,0,4,4", "--ignore-mask"])
        .arg(&mask)
        .arg("--save-masks")
        .arg(f.path("masks"))
        .arg(format)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    output
}

#[test]
fn json_has_the_format_version_the_tool_and_the_options_and_fits_the_schema() {
    let f = Fixture::new();
    let doc: serde_json::Value = serde_json::from_slice(&varied_run(&f, "--json").stdout).unwrap();
    assert_valid(&schema(None), &doc);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["tool"]["name"], "defect-detect");
    assert_eq!(doc["tool"]["version"], env!("CARGO_PKG_VERSION"));
    let options = &doc["options"];
    assert_eq!(options["threshold"], "100");
    assert_eq!(options["polarity"], "dark");
    assert_eq!(options["align"], "translate");
    assert_eq!(options["ignore"][0], "0,0,4,4");
    assert!(options["ignore_mask"]
        .as_str()
        .unwrap()
        .ends_with("mask.png"));
    assert_eq!(options["tolerance"], 3.0);
    assert_eq!(doc["results"].as_array().unwrap().len(), 3);
}

#[test]
fn default_options_read_as_on_the_command_line() {
    let f = Fixture::new();
    let reference = f.reference();
    let output = plain()
        .arg(&reference)
        .arg(&reference)
        .arg("--json")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_valid(&schema(None), &doc);
    assert_eq!(doc["options"]["threshold"], "auto");
    assert_eq!(doc["options"]["polarity"], "auto");
}

#[test]
fn every_jsonl_line_fits_the_schema() {
    let f = Fixture::new();
    let output = varied_run(&f, "--jsonl");
    let lines: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (closing, pairs) = lines.split_last().unwrap();
    assert_eq!(pairs.len(), 3);
    let pair = schema(Some("jsonl_pair"));
    for line in pairs {
        assert_valid(&pair, line);
    }
    assert_valid(&schema(Some("jsonl_closing")), closing);
    assert_eq!(closing["version"], 1);
}

/// The schema test can fail: a document without its version, or with a
/// defect of an unknown kind, is refused.
#[test]
fn the_schema_refuses_what_the_format_does_not_allow() {
    let f = Fixture::new();
    let reference = f.reference();
    let output = plain()
        .arg(&reference)
        .arg(f.with_cut("cut.png"))
        .arg("--json")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let validator = schema(None);
    assert!(validator.is_valid(&doc));
    let mut unversioned = doc.clone();
    unversioned.as_object_mut().unwrap().remove("version");
    assert!(!validator.is_valid(&unversioned));
    let mut strange = doc;
    strange["results"][0]["defects"][0]["kind"] = "dent".into();
    assert!(!validator.is_valid(&strange));
}

fn with_stdin(command: &mut Command, bytes: Vec<u8>) -> Output {
    command.write_stdin(bytes).output().unwrap()
}

#[test]
fn a_test_image_is_read_from_stdin_as_dash() {
    let f = Fixture::new();
    let reference = f.reference();
    let cut = std::fs::read(f.with_cut("cut.png")).unwrap();
    let output = with_stdin(plain().arg(&reference).arg("-"), cut);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with("-: 1 defect\n"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn a_reference_is_read_from_stdin_for_several_tests() {
    let f = Fixture::new();
    let reference = std::fs::read(f.reference()).unwrap();
    let output = with_stdin(
        plain()
            .arg("-")
            .arg(f.with_cut("cut.png"))
            .arg(f.with_flash("flash.png"))
            .arg(f.reference())
            .arg("--json"),
        reference,
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let defects: Vec<usize> = (0..3)
        .map(|i| doc["results"][i]["defects"].as_array().unwrap().len())
        .collect();
    assert_eq!(defects, [1, 1, 0]);
    assert_eq!(doc["results"][0]["reference"], "-");
}

#[test]
fn stdin_named_twice_is_a_usage_error() {
    let output = with_stdin(plain().args(["-", "-"]), Vec::new());
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        common::stderr_line(&output),
        "defect-detect: error: -: standard input holds one image; it is named more than once"
    );
    let output = with_stdin(plain().args(["--pairs", "-"]), b"r.png\t-\n".to_vec());
    assert_eq!(output.status.code(), Some(2));
    assert!(common::stderr_line(&output).contains("standard input is the --pairs list"));
}

#[test]
fn stdin_that_is_not_an_image_is_an_error_naming_it() {
    let f = Fixture::new();
    let output = with_stdin(plain().arg(f.reference()).arg("-"), b"hello".to_vec());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        common::stderr_line(&output).starts_with("defect-detect: error: -: not a readable image"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn stdin_beyond_what_max_pixels_allows_is_refused_unread() {
    let f = Fixture::new();
    let small = f.save("small.png", &image::GrayImage::new(10, 10));
    // 100 pixels allow 100 x 16 bytes and 16 MiB of metadata.
    let output = with_stdin(
        plain().arg(&small).arg("-").args(["--max-pixels", "100"]),
        vec![0; (16 << 20) + 4096],
    );
    assert_eq!(output.status.code(), Some(2));
    let line = common::stderr_line(&output);
    assert!(
        line.contains("-: cannot read: more than 16778816 bytes"),
        "{line}"
    );
}

#[test]
fn dash_output_writes_the_png_on_stdout_and_the_summary_on_stderr() {
    let f = Fixture::new();
    let output = plain()
        .arg(f.reference())
        .arg(f.with_cut("cut.png"))
        .args(["-o", "-"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let picture = image::load_from_memory_with_format(&output.stdout, image::ImageFormat::Png)
        .expect("stdout is one PNG");
    assert_eq!((picture.width(), picture.height()), (200, 200));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cut.png: 1 defect") && stderr.contains("FAIL: 1 pair"),
        "{stderr}"
    );
    assert!(!f.path("-").exists() && !std::path::Path::new("-").exists());
}

#[test]
fn dash_output_with_a_report_on_stdout_is_a_usage_error() {
    let f = Fixture::new();
    let output = plain()
        .arg(f.reference())
        .arg(f.with_cut("cut.png"))
        .args(["-o", "-", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(common::stderr_line(&output).contains("-o - writes the image on stdout"));
    assert!(output.stdout.is_empty());
}

#[test]
fn a_pairs_list_with_a_byte_order_mark_reads_its_first_line() {
    let f = Fixture::new();
    let reference = f.reference();
    let cut = f.with_cut("cut.png");
    let list = format!("\u{feff}{}\t{}\r\n", reference.display(), cut.display());
    let list = f.write("windows.tsv", list.as_bytes());
    let output = plain()
        .arg("--pairs")
        .arg(&list)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["results"][0]["reference"], reference.to_str().unwrap());
}

/// The README's recipe for a pairs list, run by `sh` as written.
#[test]
fn the_readmes_pairs_list_recipe_runs_in_a_posix_shell() {
    let readme = include_str!("../README.md");
    let recipe = readme
        .lines()
        .find(|l| l.starts_with("find captures") && l.contains("defect-detect --pairs -"))
        .expect("the recipe in README");
    let f = Fixture::new();
    f.reference();
    std::fs::create_dir_all(f.path("golden/a")).unwrap();
    std::fs::copy(f.path("reference.png"), f.path("golden/a/board one.png")).unwrap();
    std::fs::copy(f.path("reference.png"), f.path("golden/b.png")).unwrap();
    f.with_cut("captures/a/board one.png");
    std::fs::copy(f.path("reference.png"), f.path("captures/b.png")).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("defect-detect");
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{recipe} --json"))
        .current_dir(f.dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut pairs: Vec<(String, usize)> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let defects = r["defects"].as_array().unwrap().len();
            (r["reference"].as_str().unwrap().to_owned(), defects)
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("golden/a/board one.png".to_owned(), 1),
            ("golden/b.png".to_owned(), 0)
        ]
    );
}

#[cfg(unix)]
mod not_utf8 {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    use super::*;

    /// A test named `caf\xE9.png`: Latin-1, not UTF-8. Some file systems
    /// (macOS's) refuse such names; the test then has nothing to check.
    fn latin1_test(f: &Fixture) -> Option<PathBuf> {
        let path = f.dir.path().join(OsStr::from_bytes(b"caf\xe9.png"));
        let cut = f.with_cut("cut.png");
        std::fs::rename(&cut, &path).ok().map(|()| path)
    }

    #[test]
    fn a_name_that_is_not_utf8_is_kept_in_the_json_and_escaped_in_the_summary() {
        let f = Fixture::new();
        let reference = f.reference();
        let Some(test) = latin1_test(&f) else { return };
        let output = plain()
            .arg(&reference)
            .arg(&test)
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_valid(&schema(None), &doc);
        let result = &doc["results"][0];
        let bytes: Vec<u8> = result["test_bytes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        assert_eq!(
            bytes,
            test.as_os_str().as_bytes(),
            "the bytes open the file again"
        );
        assert!(result["test"].as_str().unwrap().ends_with("caf\\xE9.png"));
        assert!(
            result.get("reference_bytes").is_none(),
            "only for names that need it"
        );

        let output = plain().arg(&reference).arg(&test).output().unwrap();
        let summary = text(&output.stdout);
        assert!(summary.contains("caf\\xE9.png: 1 defect"), "{summary}");
    }

    #[test]
    fn a_name_that_is_not_utf8_goes_through_a_pairs_list_and_the_html_report() {
        let f = Fixture::new();
        let reference = f.reference();
        let Some(test) = latin1_test(&f) else { return };
        let mut list = reference.as_os_str().as_bytes().to_vec();
        list.push(b'\t');
        list.extend_from_slice(test.as_os_str().as_bytes());
        list.push(b'\n');
        let list = f.write("pairs.tsv", &list);
        let html = f.path("report/index.html");
        let output = plain()
            .arg("--pairs")
            .arg(&list)
            .arg("--html")
            .arg(&html)
            .arg("--out-dir")
            .arg(f.path("out"))
            .output()
            .unwrap();
        // Read again for the report's close-ups and written under its own
        // name: no error, the verdict of the defect.
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let annotated = f
            .path("out")
            .join(test.strip_prefix("/").unwrap())
            .with_extension("png");
        assert!(annotated.exists(), "{}", annotated.display());
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.contains("caf\\xE9.png"));
    }
}
