//! The reports CI systems read: JUnit filled in as they expect it, with
//! names that do not depend on the runner, and the Markdown summary.

mod common;

use common::{defect_detect, Fixture};
use defect_detect::synth::{fill_rect, washer, PAPER};

/// `golden/` holds a.png, b.png and extra.png; `captures/` a.png (a cut),
/// b.png (a pass) and c.png (no reference: an error pair).
fn folders(f: &Fixture) {
    for name in ["a.png", "b.png", "extra.png"] {
        f.save(&format!("golden/{name}"), &washer(200, 200));
    }
    let mut cut = washer(200, 200);
    fill_rect(&mut cut, 12, 96, 6, 8, PAPER);
    f.save("captures/a.png", &cut);
    f.save("captures/b.png", &washer(200, 200));
    f.save("captures/c.png", &washer(200, 200));
}

fn junit(f: &Fixture, args: &[&str]) -> String {
    let output = defect_detect()
        .current_dir(f.dir.path())
        .args(args)
        .args(["--junit", "junit.xml", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    std::fs::read_to_string(f.path("junit.xml")).unwrap()
}

#[test]
fn junit_carries_what_ci_systems_read() {
    let f = Fixture::new();
    folders(&f);
    let xml = junit(&f, &["golden", "captures", "--out-dir", "annotated"]);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let timestamp = suite.attribute("timestamp").unwrap();
    assert_eq!(timestamp.len(), "2026-12-02T13:05:09".len(), "{timestamp}");
    assert_eq!(&timestamp[10..11], "T");
    assert!(!suite.attribute("hostname").unwrap().is_empty());
    assert_eq!(suite.attribute("tests"), Some("4"));
    assert_eq!(suite.attribute("skipped"), Some("1"));
    let property = |name: &str| {
        suite
            .descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some(name))
            .and_then(|n| n.attribute("value"))
    };
    assert_eq!(property("version"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(property("option.tolerance"), Some("3"));
    assert_eq!(property("option.align"), Some("rigid"));
    assert_eq!(property("complete"), None);
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<&str> = cases.iter().map(|n| n.attribute("name").unwrap()).collect();
    assert_eq!(
        names,
        [
            "captures/a.png",
            "captures/b.png",
            "captures/c.png",
            "golden/extra.png"
        ]
    );
    for case in &cases {
        assert_eq!(case.attribute("file"), case.attribute("name"));
        let time: f64 = case.attribute("time").unwrap().parse().unwrap();
        assert!((0.0..60.0).contains(&time), "{time}");
    }
    let out = |case: &roxmltree::Node| {
        case.children()
            .find(|n| n.has_tag_name("system-out"))
            .and_then(|n| n.text())
            .map(str::to_owned)
    };
    assert_eq!(
        out(&cases[0]).as_deref(),
        Some("[[ATTACHMENT|annotated/a.png]]")
    );
    assert!(f.path("annotated/a.png").is_file());
    assert_eq!(out(&cases[1]), None, "a pass writes no image");
    let first_child = |case: &roxmltree::Node| {
        case.children()
            .find(|n| n.is_element())
            .map(|n| n.tag_name().name().to_owned())
    };
    assert_eq!(first_child(&cases[0]).as_deref(), Some("failure"));
    assert_eq!(first_child(&cases[1]), None);
    assert_eq!(first_child(&cases[2]).as_deref(), Some("error"));
    assert_eq!(first_child(&cases[3]).as_deref(), Some("skipped"));
}

#[test]
fn junit_names_do_not_depend_on_where_the_checkout_is() {
    let f = Fixture::new();
    folders(&f);
    let absolute = |name: &str| f.path(name).display().to_string();
    let names = |xml: &str| -> Vec<String> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .map(|n| n.attribute("name").unwrap().to_owned())
            .collect()
    };
    let xml = junit(&f, &[&absolute("golden"), &absolute("captures")]);
    assert_eq!(names(&xml)[0], "captures/a.png");
    let xml = junit(&f, &["golden", "captures", "--root", "captures"]);
    assert_eq!(names(&xml)[..3], ["a.png", "b.png", "c.png"]);
    assert!(xml.contains(r#"message="1 defect against golden/a.png""#));
}

fn markdown(f: &Fixture, args: &[&str]) -> String {
    defect_detect()
        .current_dir(f.dir.path())
        .args(args)
        .args(["--markdown", "summary.md", "--quiet"])
        .output()
        .unwrap();
    std::fs::read_to_string(f.path("summary.md")).unwrap()
}

#[test]
fn markdown_shows_the_worst_pairs_first_and_escapes_their_names() {
    let f = Fixture::new();
    let reference = f.reference();
    f.with_cut("odd|name*.png");
    f.with_flash("flash.png");
    let text = markdown(
        &f,
        &[
            reference.to_str().unwrap(),
            "odd|name*.png",
            "flash.png",
            "missing.png",
            "reference.png",
        ],
    );
    assert!(text.starts_with("### defect-detect: ERROR\n"), "{text}");
    assert!(text.contains("| 4 | 1 | 2 | 1 | 1 | 1 |"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(".png"))
        .collect();
    assert_eq!(rows.len(), 3, "passes are not listed: {text}");
    assert!(
        rows[0].starts_with("| missing.png | reference.png | error\\: "),
        "{text}"
    );
    assert!(
        rows[1].starts_with(r"| odd\|name\*.png | reference.png | 1 cut | cut hole score"),
        "{text}"
    );
    assert!(
        rows[2].starts_with("| flash.png | reference.png | 1 flash | flash island"),
        "{text}"
    );
}

#[test]
fn markdown_table_is_bounded() {
    let f = Fixture::new();
    let reference = f.reference();
    let cut = f.with_cut("cut.png");
    let list: String = (0..25)
        .map(|_| format!("{}\t{}\n", reference.display(), cut.display()))
        .collect();
    f.write("pairs.tsv", list.as_bytes());
    let text = markdown(&f, &["--pairs", "pairs.tsv"]);
    let rows = text.lines().filter(|l| l.contains("cut.png")).count();
    assert_eq!(rows, 20, "{text}");
    assert!(
        text.ends_with(
            "\nand 5 more pairs with defects or errors (see the JUnit or HTML report).\n"
        ),
        "{text}"
    );
}

#[test]
fn markdown_of_a_pass_is_the_verdict_and_the_counts() {
    let f = Fixture::new();
    f.reference();
    let text = markdown(&f, &["reference.png", "reference.png"]);
    assert_eq!(
        text,
        "### defect-detect: PASS\n\n| pairs | passed | with defects | flash | cut | errors |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n| 1 | 1 | 0 | 0 | 0 | 0 |\n"
    );
}
