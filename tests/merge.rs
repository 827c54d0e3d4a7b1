//! `--merge`: the shards of a run joined are the run, and what cannot be
//! joined is refused with one line naming the file.

mod common;

use std::path::PathBuf;

use common::{defect_detect, json, stderr_line, Fixture};
use serde_json::Value;

/// A reference and seven tests: passes, cuts, flashes and a missing file.
fn batch(f: &Fixture) -> (PathBuf, Vec<PathBuf>) {
    let reference = f.reference();
    let tests = (0..7)
        .map(|i| match i % 4 {
            0 => f.with_cut(&format!("t{i}.png")),
            1 => f.with_flash(&format!("t{i}.png")),
            2 => reference.clone(),
            _ => f.path(&format!("missing{i}.png")),
        })
        .collect();
    (reference, tests)
}

/// Runs the batch with `args` (from the fixture's folder) and returns the
/// output; `--json` or `--jsonl` stdout is saved to `save` when given.
fn run(f: &Fixture, args: &[&str], save: Option<&str>) -> std::process::Output {
    let (reference, tests) = batch(f);
    let output = defect_detect()
        .current_dir(f.dir.path())
        .arg(&reference)
        .args(&tests)
        .args(args)
        .output()
        .unwrap();
    if let Some(name) = save {
        std::fs::write(f.path(name), &output.stdout).unwrap();
    }
    output
}

fn merge(f: &Fixture, args: &[&str]) -> std::process::Output {
    defect_detect()
        .current_dir(f.dir.path())
        .arg("--merge")
        .args(args)
        .output()
        .unwrap()
}

/// The results without the one field that differs between runs.
fn results_without_time(doc: &Value) -> Vec<Value> {
    let mut results = doc["results"].as_array().unwrap().clone();
    for result in &mut results {
        let seconds = result.as_object_mut().unwrap().remove("seconds");
        assert!(seconds.unwrap().as_f64().unwrap() >= 0.0);
    }
    results
}

/// Each JUnit testcase as its name and the names of its child elements.
fn testcases(xml: &str) -> Vec<(String, Vec<String>)> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let children = n
                .children()
                .filter(|c| c.is_element() && !c.has_tag_name("system-out"))
                .map(|c| format!("{}: {}", c.tag_name().name(), c.text().unwrap_or("")))
                .collect();
            (n.attribute("name").unwrap().to_owned(), children)
        })
        .collect()
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let f = Fixture::new();
    let whole = run(
        &f,
        &["--json", "--junit", "whole.xml", "--markdown", "whole.md"],
        Some("whole.json"),
    );
    assert_eq!(
        whole.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    // Shard 2 as JSON Lines; the files given out of order.
    run(&f, &["--shard", "1/3", "--json"], Some("s1.json"));
    run(&f, &["--shard", "2/3", "--jsonl"], Some("s2.jsonl"));
    run(&f, &["--shard", "3/3", "--json"], Some("s3.json"));
    let merged = merge(
        &f,
        &[
            "s3.json",
            "s1.json",
            "s2.jsonl",
            "--json",
            "--junit",
            "merged.xml",
            "--markdown",
            "merged.md",
        ],
    );
    let stderr = String::from_utf8_lossy(&merged.stderr);
    assert_eq!(merged.status.code(), whole.status.code(), "{stderr}");
    let (whole_doc, merged_doc) = (json(&whole), json(&merged));
    assert_eq!(
        results_without_time(&merged_doc),
        results_without_time(&whole_doc)
    );
    assert_eq!(merged_doc["summary"], whole_doc["summary"]);
    assert_eq!(merged_doc["complete"], true);
    assert_eq!(merged_doc["options"], whole_doc["options"]);
    let read = |name: &str| std::fs::read_to_string(f.path(name)).unwrap();
    let cases = testcases(&read("merged.xml"));
    assert_eq!(cases.len(), 7);
    assert_eq!(cases, testcases(&read("whole.xml")));
    assert_eq!(read("merged.md"), read("whole.md"));
}

#[test]
fn merged_summary_is_the_unsharded_runs() {
    let f = Fixture::new();
    let whole = run(&f, &[], None);
    run(&f, &["--shard", "1/2", "--json"], Some("s1.json"));
    run(&f, &["--shard", "2/2", "--json"], Some("s2.json"));
    let merged = merge(&f, &["s1.json", "s2.json"]);
    assert_eq!(merged.stdout, whole.stdout);
    assert_eq!(merged.status.code(), Some(2));
}

/// Shard `k` of `n` of the batch as a JSON document, edited by `edit`.
fn shard_file(f: &Fixture, k: usize, n: usize, edit: impl FnOnce(&mut Value)) -> String {
    let name = format!("s{k}.json");
    let output = run(f, &["--shard", &format!("{k}/{n}"), "--json"], None);
    let mut doc = json(&output);
    edit(&mut doc);
    std::fs::write(f.path(&name), doc.to_string()).unwrap();
    name
}

#[test]
fn an_interrupted_shard_makes_the_merge_incomplete() {
    let f = Fixture::new();
    let one = shard_file(&f, 1, 2, |doc| doc["complete"] = Value::Bool(false));
    let two = shard_file(&f, 2, 2, |_| {});
    let output = merge(&f, &[&one, &two, "--json"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(json(&output)["complete"], false);
    assert_eq!(
        stderr_line(&output),
        "defect-detect: warning: s1.json: the run was interrupted; the merged report is incomplete"
    );
}

#[test]
fn a_missing_shard_makes_the_merge_incomplete() {
    let f = Fixture::new();
    let one = shard_file(&f, 1, 3, |_| {});
    let three = shard_file(&f, 3, 3, |_| {});
    let output = merge(&f, &[&one, &three, "--json"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(json(&output)["complete"], false);
    assert_eq!(
        stderr_line(&output),
        "defect-detect: warning: shard 2 of 3 not given; the merged report is incomplete"
    );
}

#[test]
fn json_lines_cut_short_make_the_merge_incomplete() {
    let f = Fixture::new();
    let output = run(&f, &["--jsonl"], None);
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(f.path("cut.jsonl"), lines[..3].join("\n")).unwrap();
    let output = merge(&f, &["cut.jsonl", "--json"]);
    assert_eq!(output.status.code(), Some(2));
    let doc = json(&output);
    assert_eq!(doc["summary"]["pairs"], 3);
    assert_eq!(doc["complete"], false);
    assert!(stderr_line(&output).contains("cut.jsonl: no summary line"));
}

/// A merge that must fail: exit 2, one line on stderr, nothing on stdout.
fn refused(f: &Fixture, files: &[&str]) -> String {
    let output = merge(f, files);
    assert_eq!(output.status.code(), Some(2), "{files:?}");
    assert!(output.stdout.is_empty());
    stderr_line(&output)
}

#[test]
fn a_file_that_is_not_a_report_is_an_error_naming_it() {
    let f = Fixture::new();
    f.write("other.json", br#"{"name": "something else"}"#);
    f.write("picture.png", b"\x89PNG\r\n\x1a\n\xff\xfe");
    f.write("lines.jsonl", b"{\"index\": 0}\n");
    assert_eq!(
        refused(&f, &["other.json"]),
        "defect-detect: error: other.json: not a defect-detect report: missing field `results` at line 1 column 26"
    );
    assert_eq!(
        refused(&f, &["picture.png"]),
        "defect-detect: error: picture.png: not a defect-detect report: not UTF-8 text"
    );
    assert!(refused(&f, &["lines.jsonl"]).starts_with(
        "defect-detect: error: lines.jsonl: not a defect-detect report: line 1: missing field"
    ));
    assert!(refused(&f, &["absent.json"])
        .starts_with("defect-detect: error: absent.json: cannot read: No such file"));
}

#[test]
fn a_report_whose_counts_are_not_its_results_is_refused() {
    let f = Fixture::new();
    let edited = shard_file(&f, 1, 1, |doc| {
        doc["results"].as_array_mut().unwrap().pop();
    });
    let line = refused(&f, &[&edited]);
    assert!(
        line.starts_with(
            "defect-detect: error: s1.json: not a defect-detect report: its summary counts 7 pairs"
        ),
        "{line}"
    );
}

#[test]
fn the_same_shard_twice_is_refused() {
    let f = Fixture::new();
    let one = shard_file(&f, 1, 2, |_| {});
    std::fs::copy(f.path(&one), f.path("again.json")).unwrap();
    assert_eq!(
        refused(&f, &[&one, "again.json"]),
        "defect-detect: error: again.json: cannot be merged with s1.json: both are shard 1/2"
    );
}

#[test]
fn shards_of_different_splits_are_refused() {
    let f = Fixture::new();
    let half = shard_file(&f, 1, 2, |_| {});
    let third = shard_file(&f, 2, 3, |_| {});
    assert_eq!(
        refused(&f, &[&half, &third]),
        "defect-detect: error: s2.json: cannot be merged with s1.json: it is shard 2/3, the other shard 1/2"
    );
}

#[test]
fn runs_with_different_options_are_refused() {
    let f = Fixture::new();
    run(&f, &["--shard", "1/2", "--json"], Some("s1.json"));
    run(
        &f,
        &["--shard", "2/2", "--json", "--tolerance", "2"],
        Some("s2.json"),
    );
    assert_eq!(
        refused(&f, &["s1.json", "s2.json"]),
        "defect-detect: error: s2.json: cannot be merged with s1.json: inspected with other options (tolerance 2, not 3)"
    );
}

#[test]
fn a_pair_in_two_unsharded_reports_is_refused() {
    let f = Fixture::new();
    run(&f, &["--json"], Some("a.json"));
    std::fs::copy(f.path("a.json"), f.path("b.json")).unwrap();
    let line = refused(&f, &["a.json", "b.json"]);
    assert!(
        line.starts_with(
            "defect-detect: error: b.json: cannot be merged with a.json: both hold the pair "
        ),
        "{line}"
    );
}

#[test]
fn an_output_over_a_merge_input_is_refused() {
    let f = Fixture::new();
    let one = shard_file(&f, 1, 1, |_| {});
    let before = std::fs::read(f.path(&one)).unwrap();
    let line = refused(&f, &[&one, "--junit", &one]);
    assert!(line.contains("a --merge report"), "{line}");
    assert_eq!(std::fs::read(f.path(&one)).unwrap(), before);
}

#[test]
fn merge_takes_no_inspection_option() {
    let f = Fixture::new();
    let one = shard_file(&f, 1, 1, |_| {});
    defect_detect()
        .current_dir(f.dir.path())
        .args(["--merge", &one, "--tolerance", "2"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot be used with"));
}

#[test]
fn merged_html_reads_the_images_again() {
    let f = Fixture::new();
    run(&f, &["--shard", "1/2", "--json"], Some("s1.json"));
    run(&f, &["--shard", "2/2", "--json"], Some("s2.json"));
    merge(&f, &["s1.json", "s2.json", "--html", "report/index.html"]);
    let page = std::fs::read_to_string(f.path("report/index.html")).unwrap();
    for test in ["t0.png", "t1.png", "t5.png"] {
        assert!(page.contains(test), "{test}");
    }
    let images = std::fs::read_dir(f.path("report/index_files"))
        .unwrap()
        .count();
    // The annotated test of each pair with defects, its reference, close-ups.
    assert!(images >= 4, "{images} images");
}

#[test]
fn an_empty_merge_is_an_error_unless_allowed() {
    let f = Fixture::new();
    f.write("empty.jsonl", br#"{"summary":{"pairs":0,"with_defects":0,"errors":0,"write_errors":0,"flash":0,"cut":0},"complete":true}"#);
    assert!(refused(&f, &["empty.jsonl"]).contains("no pairs to merge"));
    let output = merge(&f, &["empty.jsonl", "--allow-empty"]);
    assert_eq!(output.status.code(), Some(0));
}
