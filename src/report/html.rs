//! The HTML report: a page for eyes, readable offline from disk.
//!
//! `--html report/index.html` writes the page and, beside it, a folder
//! `report/index_files/` holding for each pair with defects a PNG of its
//! reference and of its annotated test, both at most [`MAX_SIDE`] pixels on
//! their longer side. The page links them relatively, so the folder can be
//! moved, zipped or published as a CI artefact as a whole; nothing is linked
//! by absolute path and nothing is fetched from the network (the CSS is
//! inline). The images are made from the input files after the run, so the
//! report works with or without `--out-dir`, and costs a second decode only
//! for the pairs with defects.
//!
//! Layout: the summary counts, then the pairs worst first (errors, then most
//! defects, then the largest defect area), each with its images side by side
//! and a table of its defects; passed pairs close the page as one list.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::RgbImage;
use rayon::prelude::*;

use super::{escape_markup as esc, PairResult, Report};
use crate::error::{Error, Result};
use crate::{annotate, load, output};

/// Longest side, in pixels, of the images copied into the report.
pub const MAX_SIDE: u32 = 800;

/// Writes the page to `path` and its images to the folder beside it (see the
/// module documentation). Inputs are read with the `max_pixels` limit; a pair
/// whose images cannot be made shows why instead of them.
pub fn write(report: &Report, path: &Path, max_pixels: u64) -> Result<()> {
    let folder = files_folder(path);
    // The images go to a new folder beside the old one, swapped in whole
    // when complete: a rerun leaves no stale image, and a run killed midway
    // leaves the old page with its own images.
    let files = folder.with_file_name(format!("{}{}", output::temp_prefix(), files_link(path)));
    std::fs::create_dir_all(&files).map_err(|cause| Error::Write {
        path: folder.clone(),
        cause,
    })?;
    let order = worst_first(&report.results);
    // A reference shared by many failing pairs is copied once, under the
    // index of its first failing pair.
    let mut first_use: HashMap<&str, usize> = HashMap::new();
    for &index in &order {
        let result = &report.results[index];
        if shows_images(result) {
            first_use.entry(&result.reference).or_insert(index);
        }
    }
    let figures: Vec<Option<std::result::Result<Figure, String>>> = order
        .par_iter()
        .map(|&index| {
            let result = &report.results[index];
            shows_images(result).then(|| {
                let reference_index = first_use[result.reference.as_str()];
                make_figure(result, index, reference_index, &files, max_pixels)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    let page = render(report, &order, &figures, &files_link(path));
    swap_in(&files, &folder)?;
    output::write_atomically(path, page.as_bytes())
}

/// Puts the folder `new` in the place of `folder`, removing the old one.
fn swap_in(new: &Path, folder: &Path) -> Result<()> {
    let write_error = |cause| Error::Write {
        path: folder.to_path_buf(),
        cause,
    };
    let old = folder.with_file_name(format!("{}old", output::temp_prefix()));
    let had_one = folder.exists();
    if had_one {
        std::fs::rename(folder, &old).map_err(write_error)?;
    }
    std::fs::rename(new, folder).map_err(write_error)?;
    if had_one {
        std::fs::remove_dir_all(&old).map_err(write_error)?;
    }
    Ok(())
}

/// Only pairs with defects get images: the page is for looking at defects.
fn shows_images(result: &PairResult) -> bool {
    result.error.is_none() && !result.defects.is_empty()
}

/// Where the images of the page at `path` go: `index.html` -> `index_files/`.
pub fn files_folder(path: &Path) -> PathBuf {
    path.with_file_name(files_link(path))
}

fn files_link(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    format!("{stem}_files")
}

/// Result indices, errors first, then by defect count and total defect area,
/// both descending; ties keep input order.
fn worst_first(results: &[PairResult]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by_key(|&i| {
        let r = &results[i];
        let area: u64 = r.defects.iter().map(|d| u64::from(d.area)).sum();
        std::cmp::Reverse((r.error.is_some(), r.defects.len(), area))
    });
    order
}

/// The two image files of one pair, as names inside the files folder.
struct Figure {
    reference: String,
    test: String,
}

fn make_figure(
    result: &PairResult,
    index: usize,
    reference_index: usize,
    files: &Path,
    max_pixels: u64,
) -> Result<Figure> {
    let reference_path = Path::new(&result.reference);
    let test_path = Path::new(&result.test);
    let figure = Figure {
        reference: format!("{reference_index:06}-reference.png"),
        test: format!("{index:06}-test.png"),
    };
    if index == reference_index {
        let reference = load::load(reference_path, max_pixels)?;
        save_small(
            &files.join(&figure.reference),
            reference.image.to_rgb8(),
            [reference_path, test_path],
        )?;
    }
    let test = load::load(test_path, max_pixels)?;
    save_small(
        &files.join(&figure.test),
        annotate::annotate(&test.image, &result.defects),
        [reference_path, test_path],
    )?;
    Ok(figure)
}

fn save_small(path: &Path, image: RgbImage, inputs: [&Path; 2]) -> Result<()> {
    output::refuse_input_overwrite(path, inputs)?;
    let (width, height) = image.dimensions();
    let longer = width.max(height);
    let image = if longer > MAX_SIDE {
        let scale =
            |side: u32| (u64::from(side) * u64::from(MAX_SIDE) / u64::from(longer)).max(1) as u32;
        image::imageops::resize(&image, scale(width), scale(height), FilterType::Triangle)
    } else {
        image
    };
    output::save_png(path, &image)
}

const STYLE: &str = "
body { font: 15px/1.4 system-ui, sans-serif; margin: 24px; color: #1a1a1a; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 0 0 8px; word-break: break-all; }
.counts { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 24px; }
.count { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; }
.count b { display: block; font-size: 22px; }
.pass b { color: #1b7a2e; } .fail b { color: #b35900; } .error b { color: #b00020; }
section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 14px; margin-bottom: 18px; }
section.error { border-left: 6px solid #b00020; } section.fail { border-left: 6px solid #e07000; }
.reference { color: #555; font-size: 13px; word-break: break-all; margin: 0 0 10px; }
.images { display: flex; gap: 12px; flex-wrap: wrap; }
figure { margin: 0; flex: 0 1 420px; }
figure img { width: 100%; height: auto; border: 1px solid #ccc; image-rendering: pixelated; }
figcaption { font-size: 13px; color: #555; }
table { border-collapse: collapse; margin-top: 10px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 10px; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
.message { color: #b00020; font-family: ui-monospace, monospace; word-break: break-all; }
.flash { color: #b35900; font-weight: bold; } .cut { color: #006fb3; font-weight: bold; }
ul.passed { columns: 2; font-size: 13px; word-break: break-all; }
";

fn render(
    report: &Report,
    order: &[usize],
    figures: &[Option<std::result::Result<Figure, String>>],
    files: &str,
) -> String {
    let s = &report.summary;
    let passed = s.pairs - s.with_defects - s.errors;
    let mut page = String::new();
    // `write!` to a String cannot fail.
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>defect-detect report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>defect-detect report</h1>\n<div class=\"counts\">\n"
    );
    for (class, label, value) in [
        ("", "pairs", s.pairs),
        ("pass", "passed", passed),
        ("fail", "with defects", s.with_defects),
        ("error", "errors", s.errors),
        ("", "flash", s.flash),
        ("", "cut", s.cut),
    ] {
        let _ = writeln!(
            page,
            "<div class=\"count {class}\"><b>{value}</b>{label}</div>"
        );
    }
    page.push_str("</div>\n");
    let mut passes = Vec::new();
    for (&index, figure) in order.iter().zip(figures) {
        let result = &report.results[index];
        if let Some(error) = &result.error {
            let _ = writeln!(
                page,
                "<section class=\"error\">\n<h2>{}</h2>\n<p class=\"reference\">reference: {}</p>\n\
                 <p class=\"message\">{}</p>\n</section>",
                esc(&result.test),
                esc(&result.reference),
                esc(error)
            );
        } else if result.defects.is_empty() {
            passes.push(result);
        } else {
            render_failure(&mut page, result, figure.as_ref(), files);
        }
    }
    if !passes.is_empty() {
        let _ = writeln!(
            page,
            "<section>\n<h2>Passed ({})</h2>\n<ul class=\"passed\">",
            passes.len()
        );
        for result in passes {
            let _ = writeln!(page, "<li>{}</li>", esc(&result.test));
        }
        page.push_str("</ul>\n</section>\n");
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn render_failure(
    page: &mut String,
    result: &PairResult,
    figure: Option<&std::result::Result<Figure, String>>,
    files: &str,
) {
    let n = result.defects.len();
    let _ = writeln!(
        page,
        "<section class=\"fail\">\n<h2>{}: {n} defect{}</h2>\n<p class=\"reference\">reference: {}</p>",
        esc(&result.test),
        super::summary::plural(n),
        esc(&result.reference)
    );
    match figure {
        Some(Ok(figure)) => {
            let _ = writeln!(
                page,
                "<div class=\"images\">\n\
                 <figure><img src=\"{files}/{}\" alt=\"reference\"><figcaption>reference</figcaption></figure>\n\
                 <figure><img src=\"{files}/{}\" alt=\"annotated test\"><figcaption>test, annotated</figcaption></figure>\n\
                 </div>",
                esc(&figure.reference),
                esc(&figure.test)
            );
        }
        Some(Err(message)) => {
            let _ = writeln!(
                page,
                "<p class=\"message\">images unavailable: {}</p>",
                esc(message)
            );
        }
        None => {}
    }
    page.push_str(
        "<table>\n<tr><th>kind</th><th>type</th><th>score</th><th>x</th><th>y</th><th>width</th><th>height</th><th>area</th></tr>\n",
    );
    for d in &result.defects {
        let kind = d.kind.name();
        let _ = writeln!(
            page,
            "<tr><td class=\"{kind}\">{kind}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.defect_type.name(),
            d.score,
            d.rect.x, d.rect.y, d.rect.width, d.rect.height, d.area
        );
    }
    page.push_str("</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(test: &str, defects: usize, error: bool) -> PairResult {
        let defect = crate::Defect {
            kind: crate::DefectKind::Cut,
            defect_type: crate::DefectType::Notch,
            score: 0.5,
            rect: crate::Rect {
                x: 1,
                y: 2,
                width: 3,
                height: 4,
            },
            area: 12,
            centroid: [2.0, 3.0],
        };
        PairResult {
            reference: "r.png".into(),
            test: test.into(),
            width: Some(10),
            height: Some(10),
            defects: vec![defect; defects],
            alignment: None,
            threshold: None,
            polarity: None,
            error: error.then_some("broken <file>".into()),
            write_error: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn errors_come_first_then_most_defects_then_passes() {
        let results = vec![
            result("pass", 0, false),
            result("one", 1, false),
            result("three", 3, false),
            result("bad", 0, true),
        ];
        assert_eq!(worst_first(&results), vec![3, 2, 1, 0]);
    }

    #[test]
    fn text_is_escaped() {
        let report = Report::new(vec![result("<script>.png", 0, true)]);
        let page = render(&report, &[0], &[None], "index_files");
        assert!(page.contains("&lt;script&gt;.png"));
        assert!(page.contains("broken &lt;file&gt;"));
        assert!(!page.contains("<script>"));
    }
}
