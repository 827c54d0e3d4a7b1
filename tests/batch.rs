//! Batch runs end to end: input forms, reports, shards, error isolation and
//! exit statuses, on generated images.

mod common;

use std::path::{Path, PathBuf};

use common::{defect_detect, json, Fixture};
use defect_detect::synth::washer;
use predicates::prelude::*;

/// The `test` field of every result, in order.
fn tests_of(doc: &serde_json::Value) -> Vec<String> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["test"].as_str().unwrap().to_owned())
        .collect()
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

/// A reference and, in `tests/`, a clean test, a cut and a flash.
fn folder_fixture() -> (Fixture, PathBuf, PathBuf) {
    let f = Fixture::new();
    let reference = f.reference();
    f.save("tests/a_ok.png", &washer(200, 200));
    f.with_cut("tests/b_cut.png");
    f.with_flash("tests/sub/c_flash.png");
    let dir = f.path("tests");
    (f, reference, dir)
}

#[test]
fn many_tests_against_one_reference_keep_input_order() {
    let f = Fixture::new();
    let reference = f.reference();
    let tests = [
        f.with_flash("z.png"),
        f.with_cut("a.png"),
        reference.clone(),
    ];
    let output = defect_detect()
        .arg(&reference)
        .args(&tests)
        .args(["--json", "--jobs", "2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let doc = json(&output);
    assert_eq!(
        tests_of(&doc),
        tests.iter().map(|t| show(t)).collect::<Vec<_>>()
    );
    assert_eq!(doc["summary"]["with_defects"], 2);
}

#[test]
fn reference_and_folder_inspects_its_images_sorted_and_recursive_descends() {
    let (f, reference, dir) = folder_fixture();
    f.write("tests/notes.txt", b"not an image");
    let output = defect_detect()
        .arg(&reference)
        .arg(&dir)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        tests_of(&json(&output)),
        vec![show(&dir.join("a_ok.png")), show(&dir.join("b_cut.png"))]
    );
    let output = defect_detect()
        .arg(&reference)
        .arg(&dir)
        .args(["--json", "--recursive"])
        .output()
        .unwrap();
    assert_eq!(tests_of(&json(&output)).len(), 3);
}

#[test]
fn folders_pair_by_relative_path_and_a_missing_reference_is_an_error() {
    let f = Fixture::new();
    f.save("refs/x.png", &washer(200, 200));
    f.save("refs/only_ref.png", &washer(200, 200));
    f.with_cut("tests/x.png");
    f.with_flash("tests/only_test.png");
    let output = defect_detect()
        .arg(f.path("refs"))
        .arg(f.path("tests"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let doc = json(&output);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["reference"], show(&f.path("refs/only_test.png")));
    assert!(results[0]["error"]
        .as_str()
        .unwrap()
        .contains("only_test.png"));
    assert_eq!(results[1]["defects"][0]["kind"], "cut");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: ") && stderr.contains("only_ref.png"),
        "{stderr}"
    );
}

#[test]
fn pairs_file_takes_tabs_spaces_comments_and_blank_lines() {
    let f = Fixture::new();
    let reference = f.reference();
    let (cut, flash) = (f.with_cut("cut.png"), f.with_flash("flash.png"));
    let list = format!(
        "# reference\ttest\n\n{}\t{}\n{}   {}\n",
        show(&reference),
        show(&cut),
        show(&reference),
        show(&flash)
    );
    let list = f.write("pairs.tsv", list.as_bytes());
    let output = defect_detect()
        .arg("--pairs")
        .arg(&list)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(tests_of(&json(&output)), vec![show(&cut), show(&flash)]);
}

#[test]
fn pairs_list_is_read_from_stdin_with_a_dash() {
    let f = Fixture::new();
    let reference = f.reference();
    let cut = f.with_cut("cut.png");
    let output = defect_detect()
        .args(["--pairs", "-", "--json"])
        .write_stdin(format!("{}\t{}\n", show(&reference), show(&cut)))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(tests_of(&json(&output)), vec![show(&cut)]);
}

#[test]
fn malformed_pairs_line_is_the_error_of_that_line_and_the_rest_is_inspected() {
    let f = Fixture::new();
    let reference = f.reference();
    let cut = f.with_cut("cut.png");
    let text = format!(
        "# ok\na.png b.png c.png\n{}\t{}\n",
        reference.display(),
        cut.display()
    );
    let list = f.write("pairs.tsv", text.as_bytes());
    let output = defect_detect()
        .arg("--pairs")
        .arg(&list)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let doc = json(&output);
    let line = &doc["results"][0];
    assert_eq!(line["test"], format!("{}:2", list.display()));
    assert_eq!(
        line["error"],
        format!(
            "{}:2: expected `REFERENCE<TAB>TEST` (or two whitespace-separated paths), got `a.png b.png c.png`",
            list.display()
        )
    );
    assert_eq!(
        doc["results"][1]["defects"].as_array().unwrap().len(),
        1,
        "{doc}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pairs.tsv:2: expected"), "{stderr}");
}

#[test]
fn out_dir_mirrors_relative_paths_and_saves_defects_by_default() {
    let (f, reference, dir) = folder_fixture();
    let out = f.path("out");
    defect_detect()
        .arg(&reference)
        .arg(&dir)
        .args(["--recursive", "--out-dir"])
        .arg(&out)
        .assert()
        .code(1);
    assert!(!out.join("a_ok.png").exists());
    assert!(out.join("b_cut.png").is_file());
    assert!(out.join("sub/c_flash.png").is_file());
    defect_detect()
        .arg(&reference)
        .arg(&dir)
        .args(["--recursive", "--save", "all", "--out-dir"])
        .arg(&out)
        .assert()
        .code(1);
    assert!(out.join("a_ok.png").is_file());
}

#[test]
fn out_dir_over_the_test_folder_never_overwrites_a_test() {
    let (_f, reference, dir) = folder_fixture();
    let before = std::fs::read(dir.join("b_cut.png")).unwrap();
    let output = defect_detect()
        .arg(&reference)
        .arg(&dir)
        .arg("--out-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("over the test"));
    assert_eq!(std::fs::read(dir.join("b_cut.png")).unwrap(), before);
}

#[test]
fn junit_parses_back_with_a_testcase_per_pair() {
    let f = Fixture::new();
    let reference = f.reference();
    let tests = [
        reference.clone(),
        f.with_cut("a&b<c>.png"),
        f.path("missing.png"),
    ];
    let junit = f.path("reports/junit.xml");
    defect_detect()
        .arg(&reference)
        .args(&tests)
        .arg("--junit")
        .arg(&junit)
        .assert()
        .code(2);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("tests"), Some("3"));
    assert_eq!(suite.attribute("failures"), Some("1"));
    assert_eq!(suite.attribute("errors"), Some("1"));
    assert!(suite.attribute("time").unwrap().parse::<f64>().is_ok());
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<_> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(
        names,
        tests.iter().map(|t| show(t)).collect::<Vec<_>>(),
        "names survive escaping"
    );
    assert_eq!(cases[0].children().filter(|n| n.is_element()).count(), 0);
    let failure = cases[1]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let text = failure.text().unwrap();
    assert!(text.contains("cut") && text.contains("x=12 y=96"), "{text}");
    let error = cases[2]
        .children()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert!(error.attribute("message").unwrap().contains("missing.png"));
}

#[test]
fn html_report_links_images_that_exist_beside_it() {
    let (f, reference, dir) = folder_fixture();
    let html = f.path("report/index.html");
    defect_detect()
        .arg(&reference)
        .arg(&dir)
        .args(["--recursive", "--html"])
        .arg(&html)
        .assert()
        .code(1);
    let page = std::fs::read_to_string(&html).unwrap();
    let sources: Vec<&str> = page
        .split("src=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(
        sources.len(),
        6,
        "the picture and two close-ups for each of the two failing pairs"
    );
    for source in sources {
        assert!(!Path::new(source).is_absolute(), "{source}");
        let image = html.parent().unwrap().join(source);
        assert!(
            image::open(&image).is_ok(),
            "{} does not open",
            image.display()
        );
    }
    // Worst first: the cut (more area) before the flash, passes last.
    let (cut, flash, ok) = (
        page.find("b_cut.png").unwrap(),
        page.find("c_flash.png").unwrap(),
        page.find("a_ok.png").unwrap(),
    );
    assert!(cut < flash && flash < ok);
}

#[test]
fn shards_partition_the_pairs_and_concatenate_to_the_whole() {
    let f = Fixture::new();
    let reference = f.reference();
    let tests: Vec<PathBuf> = (0..7)
        .map(|i| match i % 2 {
            0 => f.with_cut(&format!("t{i}.png")),
            _ => f.with_flash(&format!("t{i}.png")),
        })
        .collect();
    let results = |extra: &[&str]| {
        let output = defect_detect()
            .arg(&reference)
            .args(&tests)
            .arg("--json")
            .args(extra)
            .output()
            .unwrap();
        let mut results = json(&output)["results"].as_array().unwrap().clone();
        // A pair's time is its run's, not its result's.
        for result in &mut results {
            result.as_object_mut().unwrap().remove("seconds");
        }
        results
    };
    let whole = results(&[]);
    let mut joined = Vec::new();
    for k in 1..=3 {
        joined.extend(results(&["--shard", &format!("{k}/3")]));
    }
    assert_eq!(joined, whole);
}

#[test]
fn bad_shard_is_a_usage_error() {
    let f = Fixture::new();
    defect_detect()
        .arg(f.reference())
        .arg(f.reference())
        .args(["--shard", "4/3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("K/N"));
}

#[test]
fn failing_pairs_never_stop_the_batch_and_each_prints_one_line() {
    let f = Fixture::new();
    let reference = f.reference();
    let tests = [
        f.with_cut("first.png"),
        f.write("garbage.png", b"not pixels"),
        f.save("small.png", &washer(50, 40)),
        f.with_flash("last.png"),
    ];
    let output = defect_detect()
        .arg(&reference)
        .args(&tests)
        .args(["--json", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "an error wins over defects");
    let doc = json(&output);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results[0]["defects"][0]["kind"], "cut");
    assert!(results[1]["error"]
        .as_str()
        .unwrap()
        .contains("garbage.png"));
    assert!(results[2]["error"].as_str().unwrap().contains("50x40"));
    assert_eq!(results[3]["defects"][0]["kind"], "flash");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines
        .iter()
        .all(|l| l.starts_with("defect-detect: error: ")));
}

#[test]
fn an_unreadable_reference_fails_only_its_own_pairs() {
    let f = Fixture::new();
    let reference = f.reference();
    let cut = f.with_cut("cut.png");
    let list = format!(
        "{}\t{}\n{}\t{}\n",
        show(&f.path("nope.png")),
        show(&cut),
        show(&reference),
        show(&cut)
    );
    let output = defect_detect()
        .args(["--pairs", "-", "--json"])
        .write_stdin(list)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let doc = json(&output);
    assert!(doc["results"][0]["error"]
        .as_str()
        .unwrap()
        .contains("nope.png"));
    assert_eq!(doc["results"][1]["defects"][0]["kind"], "cut");
}

#[test]
fn exit_status_is_0_when_every_pair_passes_and_1_with_defects() {
    let f = Fixture::new();
    let reference = f.reference();
    let clean = f.save("clean.png", &washer(200, 200));
    defect_detect()
        .arg(&reference)
        .args([&clean, &reference])
        .assert()
        .code(0);
    defect_detect()
        .arg(&reference)
        .args([&clean, &f.with_cut("cut.png")])
        .assert()
        .code(1);
}

#[test]
fn batch_ends_with_one_summary_line_unless_quiet() {
    let f = Fixture::new();
    let reference = f.reference();
    let tests = [f.with_cut("cut.png"), reference.clone()];
    let output = defect_detect()
        .arg(&reference)
        .args(&tests)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("2 pairs, 1 passed, 1 with defects, 0 errors")
            && stderr.contains("pairs/s"),
        "{stderr}"
    );
    defect_detect()
        .arg(&reference)
        .args(&tests)
        .arg("--quiet")
        .assert()
        .stderr(predicate::str::is_empty());
}

#[test]
fn help_documents_the_batch_options() {
    let output = defect_detect().arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--pairs",
        "--recursive",
        "--out-dir",
        "--save",
        "[default: defects]",
        "--junit",
        "--html",
        "--jobs",
        "[default: all cores]",
        "--shard",
        "--quiet",
        "--open",
        "--preview",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}
