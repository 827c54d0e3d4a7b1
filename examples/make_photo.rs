//! Writes a photo-like board pair (see `defect_detect::synth::photo`):
//!
//! ```text
//! cargo run --release --example make_photo -- DIR [--seed N] [--size WxH] [--tone light|dark]
//! ```
//!
//! `DIR/reference.jpg`, `DIR/test.jpg` (JPEG quality 90) and
//! `DIR/defects.tsv`, one planted defect a line: `x y width height kind name`.

use std::process::ExitCode;

use defect_detect::synth::photo::{jpeg, photo_pair, PhotoSpec, Tone};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A flag where the folder goes (`--help`) is a request for the usage,
    // not a folder to write into.
    let Some(dir) = args.first().filter(|dir| !dir.starts_with('-')) else {
        eprintln!("usage: make_photo DIR [--seed N] [--size WxH] [--tone light|dark]");
        return ExitCode::from(2);
    };
    let mut spec = PhotoSpec {
        width: 3000,
        height: 1600,
        seed: 1,
        tone: Tone::LightOnDark,
    };
    for pair in args[1..].chunks(2) {
        match (pair[0].as_str(), pair.get(1).map(String::as_str)) {
            ("--seed", Some(v)) => spec.seed = v.parse().unwrap_or(1),
            ("--size", Some(v)) => {
                if let Some((w, h)) = v.split_once('x') {
                    spec.width = w.parse().unwrap_or(3000);
                    spec.height = h.parse().unwrap_or(1600);
                }
            }
            ("--tone", Some("dark")) => spec.tone = Tone::DarkOnLight,
            ("--tone", Some("light")) => spec.tone = Tone::LightOnDark,
            _ => {
                eprintln!("make_photo: bad arguments {pair:?}");
                return ExitCode::from(2);
            }
        }
    }
    let pair = photo_pair(&spec);
    let dir = std::path::Path::new(dir);
    let mut list = String::new();
    for d in &pair.defects {
        let r = d.rect;
        list += &format!(
            "{} {} {} {} {} {}\n",
            r.x,
            r.y,
            r.width,
            r.height,
            d.kind.name(),
            d.name
        );
    }
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join("reference.jpg"), jpeg(&pair.reference, 90)))
        .and_then(|()| std::fs::write(dir.join("test.jpg"), jpeg(&pair.test, 90)))
        .and_then(|()| std::fs::write(dir.join("defects.tsv"), list));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make_photo: {}: {e}", dir.display());
            ExitCode::from(2)
        }
    }
}
