//! The decoding limit of a batch: what the tool's throughput would be if the
//! analysis cost nothing.
//!
//! ```text
//! cargo run --release --example decode -- --pairs LIST
//! ```
//!
//! Reads the pairs list as the tool does (`defect_detect::pairs`), then, on
//! all cores, decodes every distinct reference once and every test, each to
//! the grey image the analysis starts from (`load_luma`, then
//! `grayscale::to_gray`), with the tool's own decoders and allocator and
//! nothing else. Prints the counts, then `pairs/s N` last, so that
//! `bench/compare.sh` can set the tool's batch beside it. An image that
//! cannot be decoded is counted and skipped, as the tool reports its pair.
//! Exits 2 on a usage error or an unreadable list.

use std::collections::HashSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use defect_detect::{grayscale, load, pairs, Options, Polarity};
use rayon::prelude::*;

// The binary's allocator, so that the limit is the tool's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn list_path(args: &[String]) -> Option<PathBuf> {
    match args {
        [flag, list] if flag == "--pairs" => Some(PathBuf::from(list)),
        _ => None,
    }
}

/// Decodes `path` to the analysis's grey image; whether it could be.
fn decode(path: &Path, max_pixels: u64) -> bool {
    load::load_luma(path, max_pixels)
        .map(|image| grayscale::to_gray(&image.image, Polarity::Dark).len())
        .is_ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(list) = list_path(&args) else {
        eprintln!("usage: decode --pairs LIST");
        return ExitCode::from(2);
    };
    let parsed = std::fs::File::open(&list)
        .map_err(|e| e.to_string())
        .and_then(|f| pairs::parse_list(&list, BufReader::new(f)).map_err(|e| e.to_string()));
    let pairs = match parsed {
        Ok(pairs) => pairs,
        Err(e) => {
            eprintln!("decode: {}: {e}", list.display());
            return ExitCode::from(2);
        }
    };
    let max_pixels = Options::default().max_pixels;
    let mut seen = HashSet::new();
    let references: Vec<&Path> = pairs
        .iter()
        .map(|p| p.reference.as_path())
        .filter(|r| seen.insert(*r))
        .collect();
    let images: Vec<&Path> = references
        .iter()
        .copied()
        .chain(pairs.iter().map(|p| p.test.as_path()))
        .collect();
    let start = Instant::now();
    let failed = images
        .par_iter()
        .with_max_len(1)
        .filter(|path| !decode(path, max_pixels))
        .count();
    let seconds = start.elapsed().as_secs_f64();
    println!("pairs {}", pairs.len());
    println!("images {} ({} references)", images.len(), references.len());
    println!("failed {failed}");
    println!("seconds {seconds:.3}");
    println!(
        "pairs/s {:.1}",
        pairs.len() as f64 / seconds.max(f64::MIN_POSITIVE)
    );
    ExitCode::SUCCESS
}
