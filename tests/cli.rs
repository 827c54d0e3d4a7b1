//! The binary end to end: one behaviour per test, on generated images.

mod common;

use common::{defect_detect, file_name, json, png_with_header, stderr_line, Fixture};
use defect_detect::synth::{fill_rect, washer, INK, PAPER};
use predicates::prelude::*;

#[test]
fn identical_images_pass_with_exit_0() {
    let f = Fixture::new();
    let reference = f.reference();
    defect_detect()
        .arg(&reference)
        .arg(&reference)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("PASS"));
}

#[test]
fn planted_cut_is_reported_with_its_exact_box_and_exit_1() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.with_cut("test.png"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let doc = json(&output);
    let defects = doc["results"][0]["defects"].as_array().unwrap();
    assert_eq!(defects.len(), 1, "{doc}");
    let d = &defects[0];
    assert_eq!(d["kind"], "cut");
    assert_eq!((d["x"].as_u64(), d["y"].as_u64()), (Some(12), Some(96)));
    assert_eq!(
        (d["width"].as_u64(), d["height"].as_u64()),
        (Some(6), Some(8))
    );
}

#[test]
fn json_has_the_documented_shape() {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_flash("test.png");
    let output = defect_detect()
        .arg(&reference)
        .arg(&test)
        .arg("--json")
        .output()
        .unwrap();
    let doc = json(&output);
    let result = &doc["results"][0];
    assert_eq!(result["reference"], reference.display().to_string());
    assert_eq!(result["test"], test.display().to_string());
    assert_eq!(
        (result["width"].as_u64(), result["height"].as_u64()),
        (Some(200), Some(200))
    );
    assert!(result["error"].is_null());
    assert!(result["write_error"].is_null());
    assert_eq!(result["warnings"], serde_json::json!([]));
    let d = &result["defects"][0];
    for key in ["kind", "x", "y", "width", "height", "area"] {
        assert!(d.get(key).is_some(), "defect lacks {key}: {d}");
    }
    assert_eq!(d["kind"], "flash");
    assert_eq!(d["area"], 25);
    assert_eq!(d["centroid"], serde_json::json!([98.0, 98.0]));
    assert_eq!(
        doc["summary"],
        serde_json::json!({"pairs": 1, "with_defects": 1, "errors": 0, "write_errors": 0, "flash": 1, "cut": 0})
    );
}

#[test]
fn summary_lists_each_defect_then_a_verdict() {
    let f = Fixture::new();
    defect_detect()
        .arg(f.reference())
        .arg(f.with_cut("test.png"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "cut    hole        x=12 y=96 width=6 height=8",
        ))
        .stdout(predicate::str::contains(
            "FAIL: 1 pair, 1 with defects (0 flash, 1 cut)",
        ));
}

#[test]
fn annotated_png_is_written_with_the_test_size() {
    let f = Fixture::new();
    let out = f.path("out.png");
    defect_detect()
        .arg(f.reference())
        .arg(f.with_cut("test.png"))
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1);
    let annotated = image::open(&out).unwrap();
    assert_eq!((annotated.width(), annotated.height()), (200, 200));
    let cut_colour = defect_detect::annotate::colour(defect_detect::DefectKind::Cut);
    assert!(annotated.to_rgb8().pixels().any(|p| *p == cut_colour));
}

/// Analysis decodes a JPEG straight to luma, but the picture is drawn on
/// the test as it is, in colour.
#[test]
fn annotated_colour_jpeg_keeps_its_colours() {
    let f = Fixture::new();
    let cut = image::open(f.with_cut("cut.png")).unwrap().to_luma8();
    // Paper tinted yellow; its luma stays far above the ink's.
    let tinted = image::RgbImage::from_fn(cut.width(), cut.height(), |x, y| {
        let v = cut.get_pixel(x, y)[0];
        image::Rgb([v, v, v / 3 * 2])
    });
    let test = f.path("yellow.jpg");
    tinted.save(&test).unwrap();
    let out = f.path("out.png");
    defect_detect()
        .arg(f.reference())
        .arg(&test)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1);
    let corner = *image::open(&out).unwrap().to_rgb8().get_pixel(2, 2);
    assert!(
        i32::from(corner[0]) - i32::from(corner[2]) > 50,
        "paper lost its tint: {corner:?}"
    );
}

#[test]
fn missing_output_folder_is_created() {
    let f = Fixture::new();
    let out = f.path("new/folder/out.png");
    defect_detect()
        .arg(f.reference())
        .arg(f.with_cut("t.png"))
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1);
    assert!(out.is_file());
}

#[test]
fn output_over_an_input_is_refused_and_the_input_kept() {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_cut("test.png");
    let before = std::fs::read(&test).unwrap();
    let output = defect_detect()
        .arg(&reference)
        .arg(&test)
        .arg("-o")
        .arg(&test)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains("test.png") && line.contains("refusing to write the -o image over the test"),
        "{line}"
    );
    assert_eq!(std::fs::read(&test).unwrap(), before);
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.path("nope.png"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.starts_with("defect-detect: error: ") && line.contains("nope.png"),
        "{line}"
    );
}

#[test]
fn text_file_is_not_an_image() {
    let f = Fixture::new();
    let notes = f.write("notes.png", b"these are not pixels");
    let output = defect_detect()
        .arg(f.reference())
        .arg(&notes)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains("notes.png") && line.contains("not a readable image"),
        "{line}"
    );
}

#[test]
fn truncated_png_is_an_error() {
    let f = Fixture::new();
    let whole = std::fs::read(f.with_cut("whole.png")).unwrap();
    let cut = f.write("cut.png", &whole[..whole.len() / 2]);
    let output = defect_detect()
        .arg(f.reference())
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("cut.png"));
}

#[test]
fn size_mismatch_is_an_error_naming_both_sizes() {
    let f = Fixture::new();
    let small = f.save("small.png", &washer(120, 80));
    let output = defect_detect()
        .arg(f.reference())
        .arg(&small)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains("small.png") && line.contains("120x80") && line.contains("200x200"),
        "{line}"
    );
}

#[test]
fn zero_sized_image_is_an_error() {
    let f = Fixture::new();
    let empty = f.write("empty.png", &png_with_header(0, 10, 8, 0));
    let output = defect_detect()
        .arg(f.reference())
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("empty.png"));
}

#[test]
fn decompression_bomb_is_refused_from_its_header() {
    let f = Fixture::new();
    let bomb = f.write("bomb.png", &png_with_header(200_000, 200_000, 8, 0));
    let output = defect_detect()
        .arg(f.reference())
        .arg(&bomb)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains("bomb.png") && line.contains("--max-pixels"),
        "{line}"
    );
}

#[test]
fn max_pixels_flag_lowers_the_limit() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.with_cut("t.png"))
        .args(["--max-pixels", "1000"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("over the limit of 1000"));
}

#[test]
fn error_pair_still_appears_in_json() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.path("gone.png"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let doc = json(&output);
    assert!(doc["results"][0]["error"]
        .as_str()
        .unwrap()
        .contains("gone.png"));
    assert_eq!(doc["summary"]["errors"], 1);
}

#[test]
fn bad_threshold_is_a_usage_error() {
    let f = Fixture::new();
    defect_detect()
        .arg(f.reference())
        .arg(f.reference())
        .args(["--threshold", "300"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("0-255"));
}

#[test]
fn fixed_threshold_and_light_polarity_are_honoured() {
    let f = Fixture::new();
    // Inverted images: light material on dark; the flash blob is light.
    let mut reference = washer(200, 200);
    image::imageops::invert(&mut reference);
    let mut test = reference.clone();
    defect_detect::synth::fill_rect(&mut test, 96, 96, 5, 5, 255);
    let (r, t) = (f.save("r.png", &reference), f.save("t.png", &test));
    let output = defect_detect()
        .arg(&r)
        .arg(&t)
        .args(["--json", "--polarity", "light", "--threshold", "128"])
        .output()
        .unwrap();
    let doc = json(&output);
    assert_eq!(doc["results"][0]["defects"][0]["kind"], "flash", "{doc}");
    assert_eq!(doc["results"][0]["defects"][0]["x"], 96);
}

/// A photo-like pair, light copper on a dark board: the defaults find the
/// material level and polarity, and the JSON and `--verbose` report them.
#[test]
fn auto_level_and_polarity_are_reported_in_json_and_verbose_summary() {
    use defect_detect::synth::photo::{jpeg, photo_pair, PhotoSpec, Tone};
    let f = Fixture::new();
    let pair = photo_pair(&PhotoSpec {
        width: 800,
        height: 600,
        seed: 3,
        tone: Tone::LightOnDark,
    });
    let r = f.write("r.jpg", &jpeg(&pair.reference, 90));
    let t = f.write("t.jpg", &jpeg(&pair.test, 90));
    let output = defect_detect()
        .arg(&r)
        .arg(&t)
        .arg("--json")
        .output()
        .unwrap();
    let doc = json(&output);
    let result = &doc["results"][0];
    assert_eq!(result["polarity"], "light", "{doc}");
    let level = result["threshold"]["reference"].as_u64().unwrap();
    assert!((45..70).contains(&level), "{doc}");
    assert_eq!(
        result["threshold"]["test"],
        result["threshold"]["reference"]
    );
    let verbose = defect_detect().arg(&r).arg(&t).arg("-v").output().unwrap();
    let summary = String::from_utf8(verbose.stdout).unwrap();
    let line = format!("material: light above level {level} (reference), {level} (test)");
    assert!(summary.contains(&line), "{summary}");
}

#[test]
fn help_documents_every_option_with_its_default() {
    let output = defect_detect().arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--output",
        "--json",
        "--threshold",
        "[default: auto]",
        "--polarity",
        "[default: auto]",
        "--verbose",
        "--min-area",
        "[default: 10]",
        "--align",
        "[default: rigid]",
        "--max-shift",
        "[default: 12]",
        "--tolerance",
        "[default: 3]",
        "--min-score",
        "--ignore",
        "--ignore-mask",
        "--max-pixels",
        "[default: 100000000]",
        "Exit status",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn out_of_range_tolerance_is_a_usage_error() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.reference())
        .args(["--tolerance", "nan"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("--tolerance"));
}

#[test]
fn multiple_tests_with_one_output_file_is_refused() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.with_cut("a.png"))
        .arg(f.with_flash("b.png"))
        .arg("-o")
        .arg(f.path("out.png"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("one test image"));
}

#[test]
fn formats_and_bit_depths_all_decode() {
    let f = Fixture::new();
    let reference = f.reference();
    let gray =
        image::DynamicImage::ImageLuma8(image::open(f.with_cut("base.png")).unwrap().to_luma8());
    let forms = [
        ("rgb.png", gray.to_rgb8().into()),
        ("rgba.png", gray.to_rgba8().into()),
        ("gray16.png", gray.to_luma16().into()),
        ("rgba16.png", gray.to_rgba16().into()),
        ("gray_alpha.png", gray.to_luma_alpha8().into()),
        ("rgb.bmp", gray.to_rgb8().into()),
        ("gray.tiff", gray.clone()),
        ("rgb.jpg", gray.to_rgb8().into()),
        ("gray.jpg", gray.clone()),
    ];
    for (name, image) in forms {
        let image: image::DynamicImage = image;
        let path = f.path(name);
        image.save(&path).unwrap();
        let output = defect_detect()
            .arg(&reference)
            .arg(&path)
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let doc = json(&output);
        let cut = &doc["results"][0]["defects"][0];
        assert_eq!(cut["kind"], "cut", "{name}: {doc}");
        assert!(
            (cut["x"].as_i64().unwrap() - 12).abs() <= 1,
            "{name}: {cut}"
        );
    }
    let _ = file_name(&reference);
}

#[test]
fn defects_are_numbered_in_report_order_in_json_summary_and_junit() {
    let f = Fixture::new();
    let mut test = washer(200, 200);
    fill_rect(&mut test, 12, 96, 6, 8, PAPER);
    fill_rect(&mut test, 96, 96, 5, 5, INK);
    let test = f.save("two.png", &test);
    let junit = f.path("junit.xml");
    let output = defect_detect()
        .arg(f.reference())
        .arg(&test)
        .arg("--json")
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let defects = json(&output)["results"][0]["defects"].clone();
    let ids: Vec<u64> = defects
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2]);
    let summary = defect_detect()
        .arg(f.reference())
        .arg(&test)
        .output()
        .unwrap();
    let summary = String::from_utf8(summary.stdout).unwrap();
    let xml = std::fs::read_to_string(&junit).unwrap();
    for d in defects.as_array().unwrap() {
        let line = format!(
            " {}  {:<5}  {:<10}  x={} y={}",
            d["id"],
            d["kind"].as_str().unwrap(),
            d["type"].as_str().unwrap(),
            d["x"],
            d["y"]
        );
        assert!(summary.contains(&line), "{line:?} not in {summary}");
        assert!(xml.contains(&line), "{line:?} not in {xml}");
    }
}

#[test]
fn exif_orientation_is_applied_before_comparing() {
    let f = Fixture::new();
    let reference = f.reference();
    let upright = image::open(f.with_cut("cut.png")).unwrap().to_luma8();
    // Stored turned a quarter left; EXIF 6 says turn it right to view.
    let stored = image::imageops::rotate270(&upright);
    let test = f.write("rotated.jpg", &common::jpeg_with_orientation(&stored, 6));
    let output = defect_detect()
        .arg(&reference)
        .arg(&test)
        .arg("--json")
        .output()
        .unwrap();
    let doc = json(&output);
    let defects = doc["results"][0]["defects"].as_array().unwrap();
    assert_eq!(defects.len(), 1, "{doc}");
    let (x, y) = (
        defects[0]["x"].as_i64().unwrap(),
        defects[0]["y"].as_i64().unwrap(),
    );
    assert!((x - 12).abs() <= 1 && (y - 96).abs() <= 1, "{doc}");
}

#[test]
fn truncated_jpeg_is_an_error() {
    let f = Fixture::new();
    let reference = f.reference();
    let whole = image::open(f.with_cut("cut.png")).unwrap().to_luma8();
    let jpeg = common::jpeg_with_orientation(&whole, 1);
    let test = f.write("cut.jpg", &jpeg[..jpeg.len() / 2]);
    let output = defect_detect().arg(&reference).arg(&test).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_line(&output),
        format!(
            "defect-detect: error: {}: not a readable image: truncated: the JPEG data ends before its end-of-image marker",
            test.display()
        )
    );
}

#[test]
fn missing_pairs_list_says_its_cause_once() {
    let f = Fixture::new();
    let list = f.path("missing.tsv");
    let output = defect_detect().arg("--pairs").arg(&list).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_line(&output),
        format!(
            "defect-detect: error: {}: cannot read: No such file or directory (os error 2)",
            list.display()
        )
    );
}

#[test]
fn save_masks_writes_what_was_taken_for_material() {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_cut("cut.png");
    let masks = f.path("masks");
    // Relative paths, so that the masks are named for the test's own name.
    let name = |p: &std::path::Path| p.file_name().unwrap().to_owned();
    defect_detect()
        .current_dir(f.path(""))
        .arg(name(&reference))
        .arg(name(&test))
        .arg("--save-masks")
        .arg("masks")
        .assert()
        .code(1);
    let open = |side: &str| {
        image::open(masks.join(format!("cut.png.{side}.png")))
            .unwrap()
            .to_luma8()
    };
    let (r, t) = (open("reference"), open("test"));
    assert_eq!((r.dimensions(), t.dimensions()), ((200, 200), (200, 200)));
    // Inside the planted cut: material (black) in the reference only.
    assert_eq!((r.get_pixel(14, 99).0, t.get_pixel(14, 99).0), ([0], [255]));
    let differing = r.pixels().zip(t.pixels()).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 6 * 8, "only the cut differs");
    // A mask that would land on an input is refused like any output.
    let named_like_a_mask = f.path("cut.png.reference.png");
    std::fs::copy(&reference, &named_like_a_mask).unwrap();
    let before = std::fs::read(&named_like_a_mask).unwrap();
    let output = defect_detect()
        .current_dir(f.path(""))
        .arg("cut.png.reference.png")
        .arg("cut.png")
        .arg("--save-masks")
        .arg(".")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_line(&output).contains("--save-masks"),
        "{}",
        stderr_line(&output)
    );
    assert_eq!(std::fs::read(&named_like_a_mask).unwrap(), before);
}
