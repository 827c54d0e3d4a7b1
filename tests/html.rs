//! The HTML report as an inspector uses it: close-ups numbered like the
//! picture, links to files that exist, lazy images, nothing from the network,
//! and a folder holding only the last run's files.

mod common;

use std::path::Path;

use common::{defect_detect, Fixture};
use defect_detect::synth::{fill_rect, washer, INK, PAPER};

/// Every value of `attribute` in `page`.
fn values<'a>(page: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!(" {attribute}=\"");
    page.split(needle.as_str())
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect()
}

/// A reference, a test with a cut and a flash, and a passing test.
fn report(f: &Fixture, html: &Path) -> String {
    let mut test = washer(200, 200);
    fill_rect(&mut test, 12, 96, 6, 8, PAPER);
    fill_rect(&mut test, 96, 96, 5, 5, INK);
    let two = f.save("two.png", &test);
    let ok = f.save("ok.png", &washer(200, 200));
    defect_detect()
        .arg(f.reference())
        .arg(&two)
        .arg(&ok)
        .arg("--html")
        .arg(html)
        .assert()
        .code(1);
    std::fs::read_to_string(html).unwrap()
}

#[test]
fn every_defect_has_numbered_closeups_of_reference_and_test() {
    let f = Fixture::new();
    let html = f.path("report/index.html");
    let page = report(&f, &html);
    let folder = html.parent().unwrap();
    for id in [1, 2] {
        let mut closeups = ["reference", "test"].map(|side| {
            let alt = format!("alt=\"defect {id}, {side}\"");
            let at = page.find(&alt).unwrap_or_else(|| panic!("no {alt}"));
            let src = values(&page[page[..at].rfind("<img").unwrap()..], "src")[0];
            image::open(folder.join(src)).unwrap().to_luma8()
        });
        let [reference, test] = &mut closeups;
        // Enlarged well past the 6x8 and 5x5 boxes plus margins, and the
        // defect shows: the two sides differ.
        assert!(reference.width() >= 150, "{}", reference.width());
        assert_eq!(reference.dimensions(), test.dimensions());
        assert_ne!(reference.as_raw(), test.as_raw(), "defect {id}");
        assert!(page.contains(&format!("<b>{id}</b>")));
    }
}

#[test]
fn links_and_images_name_files_that_exist_and_load_lazily() {
    let f = Fixture::new();
    let html = f.path("report/index.html");
    let page = report(&f, &html);
    let folder = html.parent().unwrap();
    let sources = values(&page, "src");
    let linked = [
        values(&page, "href"),
        values(&page, "data-test"),
        values(&page, "data-reference"),
    ]
    .concat();
    assert_eq!(sources.len(), 5, "the picture and four close-ups");
    for name in sources.iter().chain(&linked) {
        assert!(!Path::new(name).is_absolute(), "{name}");
        assert!(
            image::open(folder.join(name)).is_ok(),
            "{name} does not open"
        );
    }
    let full = values(&page, "href")[0];
    assert_eq!(
        image::open(folder.join(full)).unwrap().width(),
        200,
        "full size"
    );
    assert_eq!(
        page.matches("<img ").count(),
        page.matches("loading=\"lazy\"").count()
    );
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(page.contains(concat!("defect-detect ", env!("CARGO_PKG_VERSION"))));
    assert!(page.contains("--html") && page.contains("tolerance = 3\n"));
    for filter in [
        "name=\"kind\"",
        "name=\"type\"",
        "name=\"score\"",
        "class=\"flip\"",
    ] {
        assert!(page.contains(filter), "no {filter}");
    }
    assert_eq!(
        page.matches("data-kind=\"cut\"").count(),
        2,
        "row and close-up"
    );
}

#[test]
fn a_rerun_leaves_only_its_own_images_and_never_deletes_anyone_elses() {
    let f = Fixture::new();
    let html = f.path("report/index.html");
    report(&f, &html);
    let folder = f.path("report/index_files");
    std::fs::write(folder.join("notes.txt"), "mine").unwrap();
    let left = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = left();
    // A file of someone else's in the folder: the folder is not replaced.
    let refused = defect_detect()
        .arg(f.reference())
        .arg(f.path("ok.png"))
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("notes.txt"), "{stderr}");
    assert_eq!(left(), before);
    std::fs::remove_file(folder.join("notes.txt")).unwrap();
    defect_detect()
        .arg(f.reference())
        .arg(f.path("ok.png"))
        .arg("--html")
        .arg(&html)
        .assert()
        .code(0);
    assert!(left().is_empty(), "{:?}", left());
    let siblings = std::fs::read_dir(f.path("report")).unwrap().count();
    assert_eq!(
        siblings, 2,
        "index.html and index_files, no temporary folder"
    );
}
