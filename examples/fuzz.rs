//! A mutation fuzzer for the decoders and the analysis: the tool must answer
//! every file with a result or an error, never a panic.
//!
//! ```text
//! cargo run --release --example fuzz -- [--seconds N] [--seed S] [--keep DIR]
//! ```
//!
//! Encodes a generated board (with and without planted defects) as PNG
//! (grey, RGB, RGBA, 16 bit), JPEG, BMP and TIFF, then, until `--seconds`
//! (default 600) have passed, takes one, mutates it (random bytes
//! overwritten, a run of bytes cut out or repeated, the file truncated, a
//! header field set to an extreme), writes it to a file and inspects it
//! against the unmutated reference with the library, as the tool does: load
//! with a 4-megapixel limit (memory is bounded by that limit), then compare.
//! Prints the number of files tried, how many decoded and how many were
//! refused, and exits 1 if any panicked, keeping those files in `--keep`
//! (default `target/fuzz-panics`).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use defect_detect::synth::{board, fill_rect, INK, PAPER};
use defect_detect::{load, Options, PreparedReference};
use image::{DynamicImage, ImageFormat};

/// The pixel limit of the fuzzed loads: large enough for every base image,
/// small enough that a header declaring a huge image costs little.
const MAX_PIXELS: u64 = 4_000_000;

struct Args {
    seconds: u64,
    seed: u64,
    keep: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 600,
        seed: 1,
        keep: PathBuf::from("target/fuzz-panics"),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let [flag, value] = pair else {
            return Err(format!("{} needs a value", pair[0]));
        };
        let bad = || format!("bad value '{value}' for {flag}");
        match flag.as_str() {
            "--seconds" => args.seconds = value.parse().map_err(|_| bad())?,
            "--seed" => args.seed = value.parse().map_err(|_| bad())?,
            "--keep" => args.keep = PathBuf::from(value),
            _ => return Err(format!("unknown option '{flag}'")),
        }
    }
    Ok(args)
}

/// The files mutated: one board, with planted defects, in every format and
/// layout the loader takes.
fn bases() -> Vec<Vec<u8>> {
    let mut test = board(320, 240);
    fill_rect(&mut test, 40, 40, 6, 6, INK);
    fill_rect(&mut test, 150, 100, 5, 5, PAPER);
    let grey = DynamicImage::ImageLuma8(test);
    let variants = [
        (grey.clone(), ImageFormat::Png),
        (DynamicImage::ImageRgb8(grey.to_rgb8()), ImageFormat::Png),
        (DynamicImage::ImageRgba8(grey.to_rgba8()), ImageFormat::Png),
        (
            DynamicImage::ImageLuma16(grey.to_luma16()),
            ImageFormat::Png,
        ),
        (DynamicImage::ImageRgb8(grey.to_rgb8()), ImageFormat::Jpeg),
        (grey.clone(), ImageFormat::Jpeg),
        (DynamicImage::ImageRgb8(grey.to_rgb8()), ImageFormat::Bmp),
        (grey, ImageFormat::Tiff),
    ];
    variants
        .iter()
        .map(|(image, format)| {
            let mut bytes = Cursor::new(Vec::new());
            image
                .write_to(&mut bytes, *format)
                .expect("encoding to memory");
            bytes.into_inner()
        })
        .collect()
}

/// `base` changed in one of a few ways that decoders meet in damaged files.
fn mutate(base: &[u8], rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut bytes = base.to_vec();
    let n = bytes.len();
    match rng.u8(..5) {
        0 => {
            for _ in 0..rng.usize(1..16) {
                bytes[rng.usize(..n)] = rng.u8(..);
            }
        }
        1 => bytes.truncate(rng.usize(..n)),
        2 => {
            let start = rng.usize(..n);
            let end = (start + rng.usize(1..4096)).min(n);
            bytes.drain(start..end);
        }
        3 => {
            let start = rng.usize(..n);
            let end = (start + rng.usize(1..4096)).min(n);
            let run = bytes[start..end].to_vec();
            bytes.splice(start..start, run);
        }
        _ => {
            // An extreme value over what is most likely a header field.
            let at = rng.usize(..n.min(64));
            let value = [0x00, 0x7f, 0x80, 0xff][rng.usize(..4)];
            for b in bytes.iter_mut().skip(at).take(4) {
                *b = value;
            }
        }
    }
    bytes
}

/// Inspects `path` against `reference`; whether the file decoded.
fn inspect(reference: &PreparedReference, path: &Path, options: &Options) -> bool {
    match load::load(path, MAX_PIXELS) {
        Ok(test) => {
            let _ = reference.inspect(&test, options);
            true
        }
        Err(_) => false,
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("fuzz: {e}; usage: fuzz [--seconds N] [--seed S] [--keep DIR]");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        max_pixels: MAX_PIXELS,
        ..Options::default()
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("fuzz: cannot make a temporary folder: {e}");
            return ExitCode::from(2);
        }
    };
    let bases = bases();
    let reference_path = dir.path().join("reference.png");
    let reference = board(320, 240);
    let prepared = reference
        .save(&reference_path)
        .map_err(|e| e.to_string())
        .and_then(|()| load::load(&reference_path, MAX_PIXELS).map_err(|e| e.to_string()))
        .and_then(|r| PreparedReference::new(&r, &options).map_err(|e| e.to_string()));
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("fuzz: cannot prepare the reference: {e}");
            return ExitCode::from(2);
        }
    };
    // Panics are counted, not printed a thousand times.
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let (mut tried, mut decoded, mut panicked) = (0u64, 0u64, 0u64);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let path = dir.path().join("case");
    while Instant::now() < deadline {
        let bytes = mutate(&bases[rng.usize(..bases.len())], &mut rng);
        if std::fs::write(&path, &bytes).is_err() {
            eprintln!("fuzz: cannot write {}", path.display());
            return ExitCode::from(2);
        }
        tried += 1;
        match std::panic::catch_unwind(|| inspect(&prepared, &path, &options)) {
            Ok(ok) => decoded += u64::from(ok),
            Err(_) => {
                panicked += 1;
                let _ = std::fs::create_dir_all(&args.keep);
                let _ = std::fs::write(args.keep.join(format!("panic-{tried}")), &bytes);
            }
        }
    }
    println!("files tried {tried}");
    println!("decoded and inspected {decoded}");
    println!("refused with an error {}", tried - decoded - panicked);
    println!("panicked {panicked}");
    if panicked > 0 {
        println!("kept in {}", args.keep.display());
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
