//! Don't-care regions, end to end: `--ignore` and `--ignore-mask`.

mod common;

use common::{defect_detect, json, stderr_line, Fixture};
use defect_detect::synth::{fill_rect, washer, INK, PAPER};
use image::GrayImage;

/// A test with both fixture defects: the cut at (12, 96) 6x8 and the flash at
/// (96, 96) 5x5.
fn both(f: &Fixture) -> std::path::PathBuf {
    let mut test = washer(200, 200);
    fill_rect(&mut test, 12, 96, 6, 8, PAPER);
    fill_rect(&mut test, 96, 96, 5, 5, INK);
    f.save("both.png", &test)
}

fn kinds(doc: &serde_json::Value) -> Vec<String> {
    doc["results"][0]["defects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn ignored_rectangle_over_a_defect_removes_exactly_that_defect() {
    let f = Fixture::new();
    let (reference, test) = (f.reference(), both(&f));
    let all = json(
        &defect_detect()
            .arg(&reference)
            .arg(&test)
            .arg("--json")
            .output()
            .unwrap(),
    );
    assert_eq!(kinds(&all), ["flash", "cut"]);
    let output = defect_detect()
        .arg(&reference)
        .arg(&test)
        .args(["--json", "--ignore", "90,90,20,20"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let doc = json(&output);
    assert_eq!(kinds(&doc), ["cut"]);
    // The same defect, numbered 1 now that it is the only one.
    let mut kept = doc["results"][0]["defects"][0].clone();
    let mut before = all["results"][0]["defects"][1].clone();
    assert_eq!(
        (kept["id"].take(), before["id"].take()),
        (1.into(), 2.into())
    );
    assert_eq!(kept, before);
}

#[test]
fn rectangles_covering_every_defect_pass() {
    let f = Fixture::new();
    defect_detect()
        .arg(f.reference())
        .arg(both(&f))
        .args(["--ignore", "90,90,20,20", "--ignore", "10,90,10,20"])
        .assert()
        .code(0);
}

#[test]
fn ignore_mask_removes_the_defects_under_its_nonzero_pixels() {
    let f = Fixture::new();
    let mut mask = GrayImage::new(200, 200);
    fill_rect(&mut mask, 5, 85, 20, 30, 1);
    let mask = f.save("mask.png", &mask);
    let output = defect_detect()
        .arg(f.reference())
        .arg(both(&f))
        .arg("--json")
        .arg("--ignore-mask")
        .arg(&mask)
        .output()
        .unwrap();
    assert_eq!(kinds(&json(&output)), ["flash"]);
}

#[test]
fn rectangle_outside_the_reference_is_an_error() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(both(&f))
        .args(["--ignore", "190,10,20,20"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains("reference.png") && line.contains("190,10,20,20") && line.contains("200x200"),
        "{line}"
    );
}

#[test]
fn malformed_rectangle_is_a_usage_error() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(both(&f))
        .args(["--ignore", "1,2,3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("X,Y,W,H"));
}

#[test]
fn ignore_mask_of_another_size_is_an_error_naming_both_sizes() {
    let f = Fixture::new();
    let mask = f.save("small-mask.png", &GrayImage::new(50, 40));
    let output = defect_detect()
        .arg(f.reference())
        .arg(both(&f))
        .arg("--ignore-mask")
        .arg(&mask)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains("small-mask.png") && line.contains("50x40") && line.contains("200x200"),
        "{line}"
    );
}

#[test]
fn ignore_mask_that_is_not_an_image_is_an_error() {
    let f = Fixture::new();
    let mask = f.write("mask.png", b"not a png");
    let output = defect_detect()
        .arg(f.reference())
        .arg(both(&f))
        .arg("--ignore-mask")
        .arg(&mask)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("mask.png: not a readable image"));
}
