//! The HTML report: an inspector's page, readable offline from disk.
//!
//! `--html report/index.html` writes the page and, beside it, a folder
//! `report/index_files/` holding the images of the pairs with defects (see
//! [`images`]): each pair's annotated test, shrunk, a click away at full size
//! and flipped to its reference with a button, and for every defect a
//! close-up of the reference and the test, numbered like the picture. The
//! page links them relatively, so the folder can be moved, zipped or
//! published as a CI artefact as a whole; nothing is fetched from the network
//! (CSS and the few lines of script are inline) and every image loads lazily,
//! so a page of hundreds of pairs opens at once. Images an earlier run left in
//! the folder are removed first. They are made from the input files after the
//! run, so the report works with or without `--out-dir`, and costs a second
//! decode only for the pairs with defects.
//!
//! Layout: a header with the tool's version, the date, the command and the
//! options; filters by kind, type and score; the summary counts; then the
//! pairs worst first (errors, then most defects, then the largest defect
//! area); passed pairs close the page as one list.

pub mod images;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{escape_markup as esc, path_text, worst_first, PairResult, Report, Settings};
use crate::error::{Error, Result};
use crate::{output, DefectType};
use images::Figure;

/// What the page's header says about the run.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The options the pairs were inspected with; inputs are read again
    /// with their `max_pixels` limit.
    pub options: &'a Settings,
    /// The command line, as the user would type it again.
    pub command: &'a str,
}

/// Writes the page to `path` and its images to the folder beside it (see the
/// module documentation). A pair whose images cannot be made shows why
/// instead of them.
pub fn write(report: &Report, path: &Path, run: &Run<'_>) -> Result<()> {
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
    let mut first_use: HashMap<&Path, usize> = HashMap::new();
    for &index in &order {
        let result = &report.results[index];
        if shows_images(result) {
            first_use.entry(result.reference.as_path()).or_insert(index);
        }
    }
    let figures: Vec<Option<std::result::Result<Figure, String>>> = order
        .par_iter()
        .map(|&index| {
            let result = &report.results[index];
            shows_images(result).then(|| {
                let reference_index = first_use[result.reference.as_path()];
                images::make(
                    result,
                    index,
                    reference_index,
                    &files,
                    run.options.max_pixels,
                )
                .map_err(|e| e.to_string())
            })
        })
        .collect();
    let page = render(report, run, &order, &figures, &files_link(path));
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
        refuse_foreign(folder).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(new);
        })?;
    }
    if had_one {
        std::fs::rename(folder, &old).map_err(write_error)?;
    }
    std::fs::rename(new, folder).map_err(write_error)?;
    if had_one {
        std::fs::remove_dir_all(&old).map_err(write_error)?;
    }
    Ok(())
}

/// Refuses `folder` if it holds anything but the images a report writes
/// (`000123-….png`): replacing it whole must lose nothing of anyone else's.
fn refuse_foreign(folder: &Path) -> Result<()> {
    let entries = std::fs::read_dir(folder).map_err(|cause| Error::Write {
        path: folder.to_path_buf(),
        cause,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.len() > 7
            && name.as_bytes()[..6].iter().all(u8::is_ascii_digit)
            && name.as_bytes()[6] == b'-'
            && name.ends_with(".png");
        if !ours {
            return Err(Error::NotOurs {
                folder: folder.to_path_buf(),
                file: entry.path(),
            });
        }
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
figure { margin: 0; flex: 0 1 800px; }
figure img { max-width: 100%; height: auto; border: 1px solid #ccc; }
figcaption { font-size: 13px; color: #555; }
.closeups { display: flex; gap: 10px; flex-wrap: wrap; margin-top: 10px; }
.closeups figure { flex: 0 0 auto; }
.closeups img { width: auto; max-width: 200px; image-rendering: pixelated; }
.run { color: #555; font-size: 13px; } .run code { word-break: break-all; }
.filters { display: flex; gap: 18px; align-items: center; flex-wrap: wrap; margin-bottom: 18px; }
[hidden] { display: none !important; }
table { border-collapse: collapse; margin-top: 10px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 10px; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
.message { color: #b00020; font-family: ui-monospace, monospace; word-break: break-all; }
.flash { color: #b35900; font-weight: bold; } .cut { color: #006fb3; font-weight: bold; }
ul.passed { columns: 2; font-size: 13px; word-break: break-all; }
";

/// Filters rows and close-ups by the `data-` attributes of their defect, and
/// flips a pair's picture between the annotated test and the reference.
const SCRIPT: &str = "
const form = document.querySelector('.filters');
function apply() {
  const kinds = [...form.querySelectorAll('[name=kind]:checked')].map(e => e.value);
  const type = form.elements.type.value, score = parseFloat(form.elements.score.value);
  form.querySelector('output').textContent = score.toFixed(2);
  document.querySelectorAll('[data-kind]').forEach(e => {
    e.hidden = !(kinds.includes(e.dataset.kind) && (!type || e.dataset.type === type)
      && parseFloat(e.dataset.score) >= score);
  });
}
form.addEventListener('input', apply);
document.querySelectorAll('button.flip').forEach(button => button.addEventListener('click', () => {
  const img = button.closest('figure').querySelector('img');
  const toReference = img.dataset.shown !== 'reference';
  img.src = toReference ? img.dataset.reference : img.dataset.test;
  img.dataset.shown = toReference ? 'reference' : 'test';
  button.textContent = toReference ? 'show test' : 'show reference';
}));
";

fn render(
    report: &Report,
    run: &Run<'_>,
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
         <h1>defect-detect report</h1>\n"
    );
    render_header(&mut page, run);
    page.push_str("<div class=\"counts\">\n");
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
                esc(&path_text(&result.test)),
                esc(&path_text(&result.reference)),
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
            let _ = writeln!(page, "<li>{}</li>", esc(&path_text(&result.test)));
        }
        page.push_str("</ul>\n</section>\n");
    }
    let _ = write!(page, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    page
}

fn render_header(page: &mut String, run: &Run<'_>) {
    let _ = writeln!(
        page,
        "<p class=\"run\">defect-detect {} &middot; {} &middot; <code>{}</code></p>\n\
         <details class=\"run\"><summary>options</summary><pre>{}</pre></details>",
        env!("CARGO_PKG_VERSION"),
        super::Utc::at(std::time::SystemTime::now()).minutes(),
        esc(run.command),
        esc(&(run.options.entries().iter())
            .map(|(name, value)| format!("{name} = {value}\n"))
            .collect::<String>())
    );
    page.push_str(
        "<form class=\"filters\">\n\
         <span>kind <label><input type=\"checkbox\" name=\"kind\" value=\"flash\" checked> flash</label> \
         <label><input type=\"checkbox\" name=\"kind\" value=\"cut\" checked> cut</label></span>\n\
         <label>type <select name=\"type\"><option value=\"\">all</option>",
    );
    for t in DefectType::ALL {
        let _ = write!(page, "<option>{}</option>", t.name());
    }
    page.push_str(
        "</select></label>\n<label>score at least <input type=\"range\" name=\"score\" \
         min=\"0\" max=\"1\" step=\"0.05\" value=\"0\"> <output>0.00</output></label>\n</form>\n",
    );
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
        esc(&path_text(&result.test)),
        super::summary::plural(n),
        esc(&path_text(&result.reference))
    );
    match figure {
        Some(Ok(figure)) => render_images(page, result, figure, files),
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
        "<table>\n<tr><th>#</th><th>kind</th><th>type</th><th>score</th><th>x</th><th>y</th><th>width</th><th>height</th><th>area</th></tr>\n",
    );
    for d in &result.defects {
        let kind = d.kind.name();
        let _ = writeln!(
            page,
            "<tr data-kind=\"{kind}\" data-type=\"{}\" data-score=\"{:.2}\"><td>{}</td><td class=\"{kind}\">{kind}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.defect_type.name(),
            d.score,
            d.id,
            d.defect_type.name(),
            d.score,
            d.rect.x, d.rect.y, d.rect.width, d.rect.height, d.area
        );
    }
    page.push_str("</table>\n</section>\n");
}

fn render_images(page: &mut String, result: &PairResult, figure: &Figure, files: &str) {
    let src = |name: &str| format!("{files}/{}", esc(name));
    let _ = writeln!(
        page,
        "<div class=\"images\">\n<figure><a href=\"{}\"><img src=\"{}\" data-test=\"{}\" \
         data-reference=\"{}\" loading=\"lazy\" alt=\"annotated test\"></a>\n\
         <figcaption>test, annotated; click for full size \
         <button type=\"button\" class=\"flip\">show reference</button></figcaption></figure>\n</div>",
        src(&figure.full),
        src(&figure.test),
        src(&figure.test),
        src(&figure.reference)
    );
    page.push_str("<div class=\"closeups\">\n");
    for (d, [reference, test]) in result.defects.iter().zip(&figure.closeups) {
        let kind = d.kind.name();
        let _ = writeln!(
            page,
            "<figure class=\"closeup\" data-kind=\"{kind}\" data-type=\"{}\" data-score=\"{:.2}\">\
             <img src=\"{}\" loading=\"lazy\" alt=\"defect {id}, reference\"> \
             <img src=\"{}\" loading=\"lazy\" alt=\"defect {id}, test\">\
             <figcaption><b>{id}</b> <span class=\"{kind}\">{kind}</span> {} {:.2}</figcaption></figure>",
            d.defect_type.name(),
            d.score,
            src(reference),
            src(test),
            d.defect_type.name(),
            d.score,
            id = d.id,
        );
    }
    page.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(test: &str, defects: usize, error: bool) -> PairResult {
        let defect = crate::Defect {
            id: 1,
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
            annotated: None,
            seconds: 0.0,
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
        let run = Run {
            options: &Settings::from(&crate::Options::default()),
            command: "defect-detect <x>",
        };
        let page = render(&report, &run, &[0], &[None], "index_files");
        assert!(page.contains("&lt;script&gt;.png"));
        assert!(page.contains("broken &lt;file&gt;"));
        assert!(!page.contains("<script>.png"));
    }
}
