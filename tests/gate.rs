//! A CI gate that cannot lie: a run that inspects nothing fails, a closed
//! stdout keeps the verdict, and doubtful findings say so.

mod common;

use std::process::Stdio;

use common::{defect_detect, defect_detect_process, json, stderr_line, Fixture};

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
