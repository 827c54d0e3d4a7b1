//! Never touch what is not ours, never hang, never blow up: the binary given
//! FIFOs, devices, lies in headers, loops and overlapping paths.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

use common::{
    defect_detect, defect_detect_within, json, pairs_list, png_with_header, stderr_line, Fixture,
};

/// Long enough for any run here; a run that blocks is killed and fails.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A FIFO that no one ever writes to.
fn fifo(f: &Fixture, name: &str) -> PathBuf {
    let path = f.path(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

#[test]
fn fifo_in_a_pairs_list_is_an_error_not_a_hang() {
    let f = Fixture::new();
    let reference = f.reference();
    let fifo = fifo(&f, "fifo.png");
    let list = pairs_list(&f, &[(&reference, &fifo), (&reference, &reference)]);
    let output = defect_detect()
        .arg("--pairs")
        .arg(&list)
        .arg("--json")
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let doc = json(&output);
    let error = doc["results"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("fifo.png") && error.contains("not a regular file"),
        "{error}"
    );
    assert!(doc["results"][1]["error"].is_null(), "{doc}");
}

#[test]
fn fifo_in_a_test_folder_is_an_error_of_that_file_only() {
    let f = Fixture::new();
    let reference = f.reference();
    f.with_cut("tests/cut.png");
    fifo(&f, "tests/fifo.png");
    let output = defect_detect()
        .arg(&reference)
        .arg(f.path("tests"))
        .arg("--json")
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let doc = json(&output);
    assert_eq!(doc["results"][0]["defects"].as_array().unwrap().len(), 1);
    assert!(doc["results"][1]["error"]
        .as_str()
        .unwrap()
        .contains("fifo.png: not a regular file: a FIFO"));
}

/// Runs with `args` and expects `/dev/zero` refused as the one error line.
fn assert_dev_zero_refused(args: &[&std::ffi::OsStr]) {
    let output = defect_detect()
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_line(&output),
        "defect-detect: error: /dev/zero: not a regular file: a character device"
    );
}

#[test]
fn dev_zero_as_a_test_is_refused_as_a_device() {
    let f = Fixture::new();
    let reference = f.reference();
    assert_dev_zero_refused(&[reference.as_os_str(), "/dev/zero".as_ref()]);
}

#[test]
fn dev_zero_as_a_pairs_list_is_refused_as_a_device() {
    assert_dev_zero_refused(&["--pairs".as_ref(), "/dev/zero".as_ref()]);
}

#[test]
fn endless_pairs_list_on_stdin_stops_at_the_line_limit() {
    // In 1 GB of memory, which an unbounded read exhausts in a second.
    let output = defect_detect_within(1 << 30)
        .args(["--pairs", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_line(&output),
        "defect-detect: error: <stdin>: line 1 is over the limit of 65536 bytes"
    );
}

#[test]
fn dev_zero_as_an_ignore_mask_is_refused_as_a_device() {
    let f = Fixture::new();
    let reference = f.reference();
    assert_dev_zero_refused(&[
        reference.as_os_str(),
        reference.as_os_str(),
        "--ignore-mask".as_ref(),
        "/dev/zero".as_ref(),
    ]);
}

#[test]
fn junk_after_an_image_is_not_read() {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_cut("test.png");
    // 3 GB of (sparse) zeros after the PNG, in a run allowed 1 GB of memory.
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&test)
        .unwrap();
    file.set_len(3 << 30).unwrap();
    Command::from_std(defect_detect_within(1 << 30))
        .arg(&reference)
        .arg(&test)
        .timeout(TIMEOUT)
        .assert()
        .code(1);
}

#[test]
fn tiny_file_declaring_a_huge_image_is_refused_before_allocating_it() {
    let f = Fixture::new();
    // 10000 x 10000 RGBA of 16 bits: 800 MB declared in 57 bytes, within
    // the default --max-pixels, in a run allowed 512 MB of memory.
    let bomb = f.write("bomb.png", &png_with_header(10_000, 10_000, 16, 6));
    let output = Command::from_std(defect_detect_within(512 << 20))
        .arg(f.reference())
        .arg(&bomb)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let line = stderr_line(&output);
    assert!(
        line.contains("bomb.png") && line.contains("declares 10000x10000"),
        "{line}"
    );
}

#[test]
fn recursive_walk_stops_at_a_symlink_loop_and_reports_it() {
    let f = Fixture::new();
    let reference = f.reference();
    f.with_cut("tests/cut.png");
    std::os::unix::fs::symlink(".", f.path("tests/loop")).unwrap();
    let output = defect_detect()
        .arg(&reference)
        .arg(f.path("tests"))
        .args(["--recursive", "--json"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let doc = json(&output);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{doc}");
    assert_eq!(results[0]["defects"].as_array().unwrap().len(), 1);
    assert!(results[1]["error"]
        .as_str()
        .unwrap()
        .ends_with("loop: cannot read: symlink loop: the folder contains itself"));
}

#[test]
fn jobs_over_256_is_a_usage_error() {
    let f = Fixture::new();
    let reference = f.reference();
    defect_detect()
        .arg(&reference)
        .arg(&reference)
        .args(["--jobs", "257"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("257 is not in 0..=256"));
}

#[test]
fn jobs_0_means_all_cores() {
    let f = Fixture::new();
    let reference = f.reference();
    defect_detect()
        .arg(&reference)
        .arg(&reference)
        .args(["--jobs", "0"])
        .assert()
        .code(0);
}

#[test]
fn ignore_rectangles_past_the_largest_coordinate_are_usage_errors() {
    let f = Fixture::new();
    let reference = f.reference();
    for rect in ["4294967295,0,2,1", "0,4294967295,1,2"] {
        let output = defect_detect()
            .arg(&reference)
            .arg(&reference)
            .args(["--ignore", rect])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{rect}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("ends past 4294967295"), "{rect}: {stderr}");
    }
}

#[test]
fn last_of_a_huge_number_of_shards_holds_the_last_pair() {
    let f = Fixture::new();
    let reference = f.reference();
    let tests = [
        f.with_cut("a.png"),
        f.with_cut("b.png"),
        f.with_cut("c.png"),
    ];
    let count = usize::MAX;
    let output = defect_detect()
        .arg(&reference)
        .args(&tests)
        .arg(format!("--shard={count}/{count}"))
        .arg("--json")
        .output()
        .unwrap();
    let doc = json(&output);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{doc}");
    assert_eq!(results[0]["test"], tests[2].display().to_string());
}

/// Runs with `args` and expects the refusal of `output` before anything
/// ran, with `kept` (an input, or the other output) unchanged.
fn assert_clash_refused(args: &[&std::ffi::OsStr], output: &Path, kept: &Path) {
    let before = std::fs::read(kept).ok();
    let run = defect_detect()
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{args:?}");
    let line = stderr_line(&run);
    assert!(
        line.starts_with(&format!(
            "defect-detect: error: {}: refusing to write",
            output.display()
        )),
        "{line}"
    );
    assert_eq!(std::fs::read(kept).ok(), before, "{args:?}");
}

#[test]
fn out_dir_image_over_another_pairs_test_is_refused() {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_cut("t.png");
    let capture = f.with_cut("out/t.png");
    let list = pairs_list(&f, &[(&reference, &test), (&reference, &capture)]);
    let name = |p: &Path| p.strip_prefix(f.dir.path()).unwrap().to_owned();
    // Relative names, so that `t.png` is annotated to `out/t.png`.
    let list_text = std::fs::read_to_string(&list)
        .unwrap()
        .replace(&format!("{}/", f.dir.path().display()), "");
    std::fs::write(&list, list_text).unwrap();
    let run = defect_detect()
        .current_dir(f.dir.path())
        .args(["--pairs", "pairs.tsv", "--out-dir", "out"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        stderr_line(&run),
        format!(
            "defect-detect: error: out/t.png: refusing to write the --out-dir image of {} over the test {}",
            name(&test).display(),
            name(&capture).display()
        )
    );
    assert_eq!(
        std::fs::read(&capture).unwrap(),
        std::fs::read(&test).unwrap()
    );
}

#[test]
fn html_images_folder_holding_an_input_is_refused() {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_cut("rep/index_files/000000-test.png");
    let html = f.path("rep/index.html");
    let folder = f.path("rep/index_files");
    assert_clash_refused(
        &[
            reference.as_ref(),
            test.as_ref(),
            "--html".as_ref(),
            html.as_ref(),
        ],
        &folder,
        &test,
    );
}

#[test]
fn output_over_the_ignore_mask_the_pairs_list_or_another_output_is_refused() {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_cut("t.png");
    let mask = f.save("mask.png", &image::GrayImage::new(200, 200));
    let list = pairs_list(&f, &[(&reference, &test)]);
    let report = f.write("report.xml", b"<old/>");
    let (r, t) = (reference.as_os_str(), test.as_os_str());
    let cases: [(Vec<&std::ffi::OsStr>, &Path, &Path); 3] = [
        (
            vec![
                r,
                t,
                "-o".as_ref(),
                mask.as_ref(),
                "--ignore-mask".as_ref(),
                mask.as_ref(),
            ],
            &mask,
            &mask,
        ),
        (
            vec![
                "--pairs".as_ref(),
                list.as_ref(),
                "--junit".as_ref(),
                list.as_ref(),
            ],
            &list,
            &list,
        ),
        (
            vec![
                r,
                t,
                "-o".as_ref(),
                report.as_ref(),
                "--junit".as_ref(),
                report.as_ref(),
            ],
            &report,
            &report,
        ),
    ];
    for (args, output, kept) in &cases {
        assert_clash_refused(args, output, kept);
    }
}

#[test]
fn output_hard_linked_to_an_input_is_refused() {
    let f = Fixture::new();
    let reference = f.reference();
    let test = f.with_cut("t.png");
    let link = f.path("link.png");
    std::fs::hard_link(&test, &link).unwrap();
    assert_clash_refused(
        &[
            reference.as_ref(),
            test.as_ref(),
            "-o".as_ref(),
            link.as_ref(),
        ],
        &link,
        &test,
    );
}

#[test]
fn dev_null_as_every_output_is_written_through_and_stays_a_device() {
    use std::os::unix::fs::FileTypeExt;
    let f = Fixture::new();
    let reference = f.reference();
    defect_detect()
        .arg(&reference)
        .arg(f.with_cut("t.png"))
        .args(["-o", "/dev/null", "--junit", "/dev/null"])
        .timeout(TIMEOUT)
        .assert()
        .code(1);
    let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(kind.is_char_device());
}

#[test]
fn fifo_as_output_is_written_through_to_its_reader() {
    use std::os::unix::fs::FileTypeExt;
    let f = Fixture::new();
    let reference = f.reference();
    let fifo = fifo(&f, "out.png");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    defect_detect()
        .arg(&reference)
        .arg(f.with_cut("t.png"))
        .arg("-o")
        .arg(&fifo)
        .timeout(TIMEOUT)
        .assert()
        .code(1);
    let png = image::load_from_memory(&reader.join().unwrap()).unwrap();
    assert_eq!((png.width(), png.height()), (200, 200));
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn symlink_as_output_replaces_its_target_and_stays_a_link() {
    let f = Fixture::new();
    let reference = f.reference();
    let target = f.write("target.xml", b"<old/>");
    let link = f.path("link.xml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    defect_detect()
        .arg(&reference)
        .arg(&reference)
        .arg("--junit")
        .arg(&link)
        .timeout(TIMEOUT)
        .assert()
        .code(0);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("<testsuites"));
}

#[test]
fn failed_annotated_write_keeps_the_findings_and_reports_the_failure_beside_them() {
    let f = Fixture::new();
    f.reference();
    f.with_cut("cut.png");
    f.with_flash("flash.png");
    std::fs::create_dir(f.path("out")).unwrap();
    // A full disk for one image only.
    std::os::unix::fs::symlink("/dev/full", f.path("out/cut.png")).unwrap();
    let output = defect_detect()
        .current_dir(f.dir.path())
        .args(["reference.png", "cut.png", "flash.png"])
        .args(["--out-dir", "out", "--json"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let doc = json(&output);
    let failed = &doc["results"][0];
    assert!(failed["error"].is_null(), "{doc}");
    assert_eq!(failed["defects"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(
        failed["write_error"],
        "out/cut.png: cannot write: No space left on device (os error 28)"
    );
    assert!(doc["results"][1]["write_error"].is_null(), "{doc}");
    assert!(f.path("out/flash.png").is_file());
    assert_eq!(doc["summary"]["write_errors"], 1);
    assert_eq!(doc["summary"]["with_defects"], 2);
}

#[test]
fn unwritable_report_path_is_refused_before_the_run() {
    let f = Fixture::new();
    let reference = f.reference();
    f.write("file.txt", b"");
    let output = defect_detect()
        .current_dir(f.dir.path())
        .arg(&reference)
        .arg(f.with_cut("cut.png"))
        .args(["--out-dir", "out", "--junit", "file.txt/r.xml"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr_line(&output),
        format!(
            "defect-detect: error: file.txt/r.xml: cannot write: {} is not a folder",
            f.path("file.txt").display()
        )
    );
    assert!(!f.path("out").exists(), "the run went ahead");
}

#[test]
fn failed_report_file_still_prints_the_stdout_report() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.with_cut("cut.png"))
        .args(["--junit", "/dev/full"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("FAIL: 1 pair, 1 with defects"), "{stdout}");
    assert_eq!(
        stderr_line(&output),
        "defect-detect: error: /dev/full: cannot write: No space left on device (os error 28)"
    );
}

#[test]
fn temporaries_of_dead_runs_are_removed_and_nothing_else() {
    let f = Fixture::new();
    let reference = f.reference();
    std::fs::create_dir(f.path("out")).unwrap();
    // No process has a pid over the kernel's limit of 2^22.
    let dead = f.write("out/.defect-detect-999999999-a1b2c3", b"half");
    std::fs::create_dir(f.path("out/.defect-detect-999999999-index_files")).unwrap();
    let alive = f.write(
        &format!("out/.defect-detect-{}-d4e5f6", std::process::id()),
        b"in use",
    );
    let unrelated = f.write("out/.defect-detect-notes", b"mine");
    defect_detect()
        .arg(&reference)
        .arg(f.with_cut("t.png"))
        .arg("-o")
        .arg(f.path("out/a.png"))
        .timeout(TIMEOUT)
        .assert()
        .code(1);
    assert!(!dead.exists());
    assert!(!f.path("out/.defect-detect-999999999-index_files").exists());
    assert!(alive.exists() && unrelated.exists());
}

#[test]
fn html_rerun_replaces_its_images_folder_whole() {
    let f = Fixture::new();
    let reference = f.reference();
    let html = f.path("rep/index.html");
    let run = |test: &Path, status: i32| {
        defect_detect()
            .arg(&reference)
            .arg(test)
            .arg("--html")
            .arg(&html)
            .timeout(TIMEOUT)
            .assert()
            .code(status);
    };
    let names = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(f.path(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    run(&f.with_cut("t.png"), 1);
    assert!(!names("rep/index_files").is_empty());
    run(&reference, 0);
    assert!(names("rep/index_files").is_empty(), "stale images kept");
    assert_eq!(names("rep"), ["index.html", "index_files"]);
}
