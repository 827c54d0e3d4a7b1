//! Showing the result to a person without opening files by hand: the
//! system's viewer (`--open`) and a picture in the terminal (`--preview`).

use std::io::IsTerminal;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use image::DynamicImage;

use defect_detect::report::Report;
use defect_detect::{annotate, load};

/// Opens `path` with the platform's opener and waits for it to hand over.
pub fn open(path: &Path) -> anyhow::Result<()> {
    // The opener may run from another folder (a launcher, a browser
    // already running): give it the whole path.
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut command = opener(&path);
    // Stdout stays ours: `--json --open` must still print one document.
    command.stdin(Stdio::null()).stdout(Stdio::null());
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command
        .status()
        .with_context(|| format!("cannot run {program} to open {}", path.display()))?;
    if !status.success() {
        bail!("{program} could not open {} ({status})", path.display());
    }
    Ok(())
}

fn opener(path: &Path) -> Command {
    let mut command;
    if cfg!(target_os = "macos") {
        command = Command::new("open");
    } else if cfg!(windows) {
        command = Command::new("cmd");
        // `start` takes its first quoted argument as a window title.
        command.args(["/C", "start", ""]);
    } else {
        command = Command::new("xdg-open");
    }
    command.arg(path);
    command
}

/// Draws the first pair's annotated test on stdout, fitted to the terminal.
/// A pair that could not be inspected has nothing to show.
pub fn preview(report: &Report, max_pixels: u64) -> anyhow::Result<()> {
    let Some(result) = report.results.first().filter(|r| r.error.is_none()) else {
        return Ok(());
    };
    let test = load::load(&result.test, max_pixels)?;
    let picture = DynamicImage::ImageRgb8(annotate::annotate(&test.image, &result.defects));
    // A pseudo-terminal nobody sized (a CI runner, `script`) reports 0
    // columns, which would fit the picture into nothing.
    let width = (viuer::terminal_size().0 == 0).then_some(80);
    let config = viuer::Config {
        absolute_offset: false,
        use_kitty: speaks_kitty(),
        width,
        ..viuer::Config::default()
    };
    viuer::print(&picture, &config)
        .map_err(|error| match error {
            // Kept an `io::Error`, so that a closed stdout is recognised.
            viuer::ViuError::Io(io) => anyhow::Error::from(io),
            other => anyhow::Error::new(other),
        })
        .context("cannot draw the preview")?;
    Ok(())
}

/// Whether the terminal has kitty's graphics protocol. Only asked of
/// terminals that name themselves: viuer's probe waits for a reply, and a
/// terminal or pipe that gives none would hang the run.
fn speaks_kitty() -> bool {
    let term = std::env::var("TERM").unwrap_or_default();
    std::io::stdout().is_terminal()
        && (std::env::var_os("KITTY_WINDOW_ID").is_some()
            || term.contains("kitty")
            || term.contains("ghostty"))
}
