//! A CI gate that cannot lie: a run that inspects nothing fails, a closed
//! stdout keeps the verdict, and doubtful findings say so.

mod common;

use std::process::Stdio;

use common::{defect_detect, defect_detect_process, json, pairs_list, stderr_line, Fixture};

#[test]
fn empty_test_folder_is_an_error_naming_it() {
    let f = Fixture::new();
    std::fs::create_dir(f.path("empty")).unwrap();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.path("empty"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains(&format!(
            "no images to inspect in {}",
            f.path("empty").display()
        )),
        "{line}"
    );
}

#[test]
fn empty_pairs_list_is_an_error_naming_it() {
    let f = Fixture::new();
    let list = f.write("pairs.tsv", b"# nothing yet\n");
    let output = defect_detect().arg("--pairs").arg(&list).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains(&format!("no pairs to inspect in {}", list.display())),
        "{line}"
    );
}

#[test]
fn allow_empty_passes_an_empty_run() {
    let f = Fixture::new();
    let list = f.write("pairs.tsv", b"");
    defect_detect()
        .arg("--pairs")
        .arg(&list)
        .arg("--allow-empty")
        .assert()
        .code(0)
        .stdout(predicates::str::contains("PASS: 0 pairs"));
}

#[test]
fn closed_stdout_keeps_the_exit_status_of_the_findings() {
    let f = Fixture::new();
    let reference = f.reference();
    let cut = f.with_cut("cut.png");
    for (tests, status) in [
        (vec![cut.clone()], 1),
        (vec![cut, f.path("missing.png")], 2),
    ] {
        let mut child = defect_detect_process()
            .arg(&reference)
            .args(&tests)
            .arg("--json")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Closed before the run can write: its first write meets EPIPE.
        drop(child.stdout.take());
        assert_eq!(child.wait().unwrap().code(), Some(status), "{tests:?}");
    }
}

#[test]
fn failed_stdout_write_is_an_error_naming_stdout() {
    let f = Fixture::new();
    let reference = f.reference();
    let output = defect_detect_process()
        .arg(&reference)
        .arg(&reference)
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_line(&output),
        "defect-detect: error: <stdout>: cannot write: No space left on device (os error 28)"
    );
}

#[test]
fn alignment_at_max_shift_is_a_warning_of_its_pair() {
    let f = Fixture::new();
    let reference = f.reference();
    let far = f.shifted("far.png", 8);
    let near = f.shifted("near.png", 2);
    let output = defect_detect()
        .arg(&reference)
        .args([&far, &near])
        .args(["--max-shift", "4", "--json"])
        .output()
        .unwrap();
    let doc = json(&output);
    let warnings = doc["results"][0]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{doc}");
    assert!(
        warnings[0].as_str().unwrap().contains("--max-shift 4"),
        "{doc}"
    );
    assert_eq!(
        doc["results"][1]["warnings"],
        serde_json::json!([]),
        "{doc}"
    );
}

#[test]
fn max_shift_warning_is_in_the_summary() {
    let f = Fixture::new();
    defect_detect()
        .arg(f.reference())
        .arg(f.shifted("far.png", 8))
        .args(["--max-shift", "4"])
        .assert()
        .stdout(predicates::str::contains(
            "  warning: alignment reached --max-shift 4",
        ));
}

/// The lines of a `--jsonl` stdout.
fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect()
}

#[test]
fn jsonl_streams_a_line_per_pair_with_its_index_then_the_summary() {
    let f = Fixture::new();
    let reference = f.reference();
    let tests = [
        reference.clone(),
        f.with_cut("cut.png"),
        f.path("missing.png"),
    ];
    let output = defect_detect()
        .arg(&reference)
        .args(&tests)
        .arg("--jsonl")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 4);
    let mut indices: Vec<u64> = lines[..3]
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    indices.sort();
    assert_eq!(indices, [0, 1, 2]);
    for line in &lines[..3] {
        let index = line["index"].as_u64().unwrap() as usize;
        assert_eq!(line["test"], tests[index].display().to_string());
    }
    let closing = &lines[3];
    assert_eq!(closing["complete"], true);
    assert_eq!(closing["summary"]["pairs"], 3);
    assert_eq!(closing["summary"]["with_defects"], 1);
    assert_eq!(closing["summary"]["errors"], 1);
}

#[test]
fn interrupt_writes_every_report_for_what_finished_marked_incomplete() {
    use std::io::BufRead;
    for (signal, status) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let f = Fixture::new();
        let reference = f.reference();
        let cut = f.with_cut("cut.png");
        let list = pairs_list(&f, &vec![(reference.as_path(), cut.as_path()); 5000]);
        let junit = f.path("junit.xml");
        let mut child = defect_detect_process()
            .arg("--pairs")
            .arg(&list)
            .args(["--jsonl", "--jobs", "1", "--junit"])
            .arg(&junit)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        // SAFETY: kill has no memory effects; the child is ours and alive.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut rest).unwrap();
        assert_eq!(
            child.wait().unwrap().code(),
            Some(status),
            "signal {signal}"
        );
        let lines = json_lines(&[first.as_bytes(), &rest].concat());
        let closing = lines.last().unwrap();
        assert_eq!(closing["complete"], false, "signal {signal}");
        let finished = closing["summary"]["pairs"].as_u64().unwrap();
        assert!((1..5000).contains(&finished), "{closing}");
        assert_eq!(lines.len() as u64, finished + 1);
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert!(xml.contains(r#"<property name="complete" value="false"/>"#));
        assert_eq!(xml.matches("<testcase ").count() as u64, finished);
    }
}

/// Environment variables as name and value.
type Env<'a> = &'a [(&'a str, &'a str)];

/// The tests a `--shard` run with `env` (and no other CI variable) inspects.
fn shard_with(args: &[&str], env: Env) -> std::process::Output {
    let f = Fixture::new();
    let reference = f.reference();
    for name in ["a.png", "b.png", "c.png"] {
        f.with_cut(name);
    }
    let mut command = defect_detect();
    command
        .current_dir(f.dir.path())
        .arg(&reference)
        .args(["a.png", "b.png", "c.png"]);
    for name in [
        "CI_NODE_INDEX",
        "CI_NODE_TOTAL",
        "CIRCLE_NODE_INDEX",
        "CIRCLE_NODE_TOTAL",
        "BUILDKITE_PARALLEL_JOB",
        "BUILDKITE_PARALLEL_JOB_COUNT",
        "JOB_COMPLETION_INDEX",
    ] {
        command.env_remove(name);
    }
    command
        .envs(env.iter().copied())
        .args(args)
        .arg("--json")
        .output()
        .unwrap()
}

#[test]
fn shard_auto_takes_k_and_n_from_the_ci() {
    let cases: [(&str, Env, &str); 4] = [
        (
            "auto",
            &[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")],
            "b.png",
        ),
        (
            "auto",
            &[("CIRCLE_NODE_INDEX", "2"), ("CIRCLE_NODE_TOTAL", "3")],
            "c.png",
        ),
        (
            "auto",
            &[
                ("BUILDKITE_PARALLEL_JOB", "0"),
                ("BUILDKITE_PARALLEL_JOB_COUNT", "3"),
            ],
            "a.png",
        ),
        ("auto/3", &[("JOB_COMPLETION_INDEX", "1")], "b.png"),
    ];
    for (arg, env, test) in cases {
        let output = shard_with(&["--shard", arg], env);
        let doc = json(&output);
        let results = doc["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{env:?}: {doc}");
        assert_eq!(results[0]["test"], test, "{env:?}");
    }
}

#[test]
fn shard_auto_without_ci_variables_is_an_error() {
    let output = shard_with(&["--shard", "auto"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains("--shard auto: no CI shard variables are set"),
        "{line}"
    );
    let output = shard_with(&["--shard", "auto"], &[("JOB_COMPLETION_INDEX", "0")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("--shard auto/N"));
}

/// Stderr of a batch of four pairs with the progress interval `interval`.
fn progress_stderr(interval: Option<&str>) -> std::process::Output {
    let f = Fixture::new();
    let reference = f.reference();
    let mut command = defect_detect();
    command
        .arg(&reference)
        .args([&reference, &reference, &reference, &reference])
        .env_remove("DEFECT_DETECT_PROGRESS_INTERVAL");
    if let Some(seconds) = interval {
        command.env("DEFECT_DETECT_PROGRESS_INTERVAL", seconds);
    }
    command.output().unwrap()
}

#[test]
fn progress_in_a_log_is_a_plain_line_per_interval() {
    let output = progress_stderr(Some("0"));
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "three progress lines, then the closing one: {stderr}"
    );
    for (k, line) in lines[..3].iter().enumerate() {
        let prefix = format!("defect-detect: {}/4 pairs, ", k + 1);
        assert!(line.starts_with(&prefix), "{line}");
        assert!(
            line.contains(" pairs/s, ETA ") && line.ends_with(" s"),
            "{line}"
        );
    }
    assert!(
        lines[3].starts_with("defect-detect: 4 pairs, 4 passed"),
        "{stderr}"
    );
}

#[test]
fn progress_lines_wait_for_their_interval() {
    let output = progress_stderr(None);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.lines().count(),
        1,
        "a run shorter than 5 s: {stderr}"
    );
}

#[test]
fn a_bad_progress_interval_is_an_error() {
    let output = progress_stderr(Some("soon"));
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_line(&output),
        "defect-detect: error: DEFECT_DETECT_PROGRESS_INTERVAL is `soon`, not a number of seconds"
    );
}
