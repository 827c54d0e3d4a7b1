//! `--open` and `--preview`: the result shown without opening files by hand.

mod common;

use std::path::{Path, PathBuf};

use common::{defect_detect, stderr_line, Fixture};

/// A folder holding a stand-in `xdg-open` that records its argument in
/// `opened.txt` beside it and exits with `status`.
#[cfg(unix)]
fn stand_in_opener(f: &Fixture, status: u8) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = f.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = bin.join("opened.txt");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit {status}\n",
        record.display()
    );
    let opener = bin.join("xdg-open");
    std::fs::write(&opener, script).unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, record)
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn open_hands_the_html_report_to_the_platform_opener() {
    let f = Fixture::new();
    let (bin, record) = stand_in_opener(&f, 0);
    let html = f.path("report/index.html");
    defect_detect()
        .env("PATH", path_with(&bin))
        .arg(f.reference())
        .arg(f.with_cut("test.png"))
        .arg("--html")
        .arg(&html)
        .arg("--open")
        .assert()
        .code(1);
    let opened = std::fs::read_to_string(&record).expect("the opener ran");
    assert_eq!(
        opened.trim_end(),
        html.canonicalize().unwrap().display().to_string()
    );
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn open_of_one_pair_opens_its_annotated_image_and_a_failing_opener_only_warns() {
    let f = Fixture::new();
    let (bin, record) = stand_in_opener(&f, 3);
    let out = f.path("out.png");
    let output = defect_detect()
        .env("PATH", path_with(&bin))
        .arg(f.reference())
        .arg(f.with_cut("test.png"))
        .args(["-q", "-o"])
        .arg(&out)
        .arg("--open")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "the verdict, not the opener's"
    );
    let opened = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        opened.trim_end(),
        out.canonicalize().unwrap().display().to_string()
    );
    assert!(stderr_line(&output).starts_with("defect-detect: warning: xdg-open could not open"));
}

#[test]
fn open_with_nothing_to_open_is_a_usage_error() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.with_cut("test.png"))
        .arg("--open")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("--open needs something to open"));
}

/// The colours of the annotated picture, as 24-bit escapes (`COLORTERM=truecolor`).
fn has_label_colours(text: &str) -> bool {
    let [r, g, b] = defect_detect::annotate::colour(defect_detect::DefectKind::Cut).0;
    text.contains(&format!("2;{r};{g};{b}m"))
}

#[test]
fn preview_draws_half_blocks_in_the_label_colours_above_the_summary() {
    let f = Fixture::new();
    let output = defect_detect()
        .env_remove("TERM_PROGRAM")
        .env_remove("LC_TERMINAL")
        .env_remove("KITTY_WINDOW_ID")
        .env("COLORTERM", "truecolor")
        .arg(f.reference())
        .arg(f.with_cut("test.png"))
        .arg("--preview")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    let blocks = text.find(['▀', '▄']).expect("half-block cells");
    assert!(has_label_colours(&text), "no cut-coloured cell");
    assert!(text.find("FAIL: 1 pair").unwrap() > blocks);
}

#[cfg(unix)]
#[test]
fn preview_under_a_pseudo_terminal_draws_half_blocks() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: `script` (util-linux) is not installed to make a pseudo-terminal");
        return;
    }
    let f = Fixture::new();
    let binary = assert_cmd::cargo::cargo_bin("defect-detect");
    let command = format!(
        "'{}' '{}' '{}' --preview",
        binary.display(),
        f.reference().display(),
        f.with_cut("test.png").display()
    );
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("COLORTERM", "truecolor")
        .env_remove("TERM_PROGRAM")
        .env_remove("LC_TERMINAL")
        .env_remove("KITTY_WINDOW_ID")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(['▀', '▄']),
        "no half-blocks on the terminal: {text}"
    );
    assert!(has_label_colours(&text));
    // On a terminal the summary is in colour (`--color auto`).
    assert!(text.contains("FAIL\x1b[0m: 1 pair"), "{text:?}");
}

#[test]
fn preview_of_several_pairs_is_a_usage_error() {
    let f = Fixture::new();
    let output = defect_detect()
        .arg(f.reference())
        .arg(f.with_cut("a.png"))
        .arg(f.with_flash("b.png"))
        .arg("--preview")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_line(&output).contains("--preview takes one test image"));
}
