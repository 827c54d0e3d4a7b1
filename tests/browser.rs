//! The HTML report in a real browser: headless Chromium opens a generated
//! report, and a script added to a copy of the page checks that every image
//! loads, that a filter hides rows and that the flip button switches the
//! picture. Skips, saying why, where no Chromium is installed (`.ci/run`
//! installs Debian's). `REGENERATE=1` also rewrites the README's screenshot,
//! `assets/report.png`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{defect_detect, Fixture};
use defect_detect::synth::dense_board;

const CHECK: &str = r#"<script>
window.addEventListener('load', async () => {
  const out = [];
  const loads = await Promise.all([...document.images].map(img => new Promise(done => {
    const probe = new Image();
    probe.onload = () => done(probe.naturalWidth > 0);
    probe.onerror = () => done(false);
    probe.src = img.src;
  })));
  out.push('images ' + loads.length + ' broken ' + loads.filter(ok => !ok).length);
  const form = document.querySelector('.filters');
  form.querySelector('[name=kind][value=cut]').checked = false;
  form.dispatchEvent(new Event('input'));
  const rows = kind => [...document.querySelectorAll('tr[data-kind=' + kind + ']')];
  out.push('cut rows ' + rows('cut').length + ' hidden ' + rows('cut').filter(r => r.hidden).length);
  out.push('flash rows ' + rows('flash').length + ' hidden ' + rows('flash').filter(r => r.hidden).length);
  const img = document.querySelector('figure img[data-reference]');
  document.querySelector('button.flip').click();
  out.push('flipped ' + (img.getAttribute('src') === img.dataset.reference));
  const pre = document.createElement('pre');
  pre.id = 'browser-check';
  pre.textContent = out.join('\n');
  document.body.append(pre);
});
</script>"#;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .map(PathBuf::from)
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn headless(browser: &Path) -> Command {
    let mut command = Command::new(browser);
    // Root in a container has no sandbox to enter.
    command.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--allow-file-access-from-files",
        "--virtual-time-budget=10000",
    ]);
    command
}

/// A report of two failing pairs: the dense board and a cut in a washer.
fn report(f: &Fixture) -> PathBuf {
    let (reference, test, _) = dense_board();
    let board_reference = f.save("board.png", &reference);
    let board_test = f.save("board-test.png", &test);
    let html = f.path("report/index.html");
    let list = format!(
        "{}\t{}\n{}\t{}\n",
        board_reference.display(),
        board_test.display(),
        f.reference().display(),
        f.with_cut("washer-test.png").display()
    );
    let pairs = f.write("pairs.txt", list.as_bytes());
    defect_detect()
        .arg("--pairs")
        .arg(pairs)
        .arg("--html")
        .arg(&html)
        .assert()
        .code(1);
    html
}

#[test]
fn report_images_load_filters_hide_rows_and_the_flip_switches_pictures() {
    let Some(browser) = chromium() else {
        println!("skipped: no chromium, chromium-browser or google-chrome on PATH");
        return;
    };
    let f = Fixture::new();
    let html = report(&f);
    let page = std::fs::read_to_string(&html).unwrap();
    let checked = html.with_file_name("checked.html");
    std::fs::write(
        &checked,
        page.replace("</body>", &format!("{CHECK}</body>")),
    )
    .unwrap();
    let output = headless(&browser)
        .arg("--dump-dom")
        .arg(format!("file://{}", checked.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom.find("<pre id=\"browser-check\">").unwrap_or_else(|| {
        panic!(
            "the check did not run: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let result = &dom[start..dom[start..].find("</pre>").unwrap() + start];
    // Two pictures, and reference and test close-ups of the board's first
    // 50 defects (the rest are in its table) and of the washer's one.
    assert!(result.contains("images 104 broken 0"), "{result}");
    assert!(result.contains("cut rows 29 hidden 29"), "{result}");
    assert!(result.contains("flash rows 28 hidden 0"), "{result}");
    assert!(result.contains("flipped true"), "{result}");
    if std::env::var_os("REGENERATE").is_some() {
        let screenshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/report.png");
        let status = headless(&browser)
            .arg("--window-size=1400,1100")
            .arg("--hide-scrollbars")
            .arg(format!("--screenshot={}", screenshot.display()))
            .arg(format!("file://{}", html.display()))
            .status()
            .unwrap();
        assert!(status.success());
    }
}
