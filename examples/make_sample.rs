//! Draws the sample pair shipped in `assets/sample/`: a washer, and a copy with
//! a bite taken out of its outer edge (cut) and a blob grown into its hole
//! (flash); the annotated result that the README shows; and the annotated
//! dense board (`synth::dense_board`, 56 defects) that shows label placement.
//!
//! `cargo run --example make_sample` rewrites them.
//! `cargo run --example make_sample -- --seed-like DIR` instead writes a set
//! like the original project's images (1130x1100 RGBA `good.png` and
//! `defect1.png`..`defect4.png`, two flash and two cut), for benchmarks on a
//! machine that does not have the originals.

use std::path::Path;

use defect_detect::synth::{dense_board, fill_disc, washer, INK, PAPER};
use defect_detect::{annotate::annotate, inspect, LoadedImage, Options};
use image::{DynamicImage, GrayImage};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => sample(Path::new("assets/sample")),
        [flag, dir] if flag == "--seed-like" => seed_like(Path::new(dir)),
        _ => anyhow::bail!("usage: make_sample [--seed-like DIR]"),
    }
}

fn sample(dir: &Path) -> anyhow::Result<()> {
    let reference = washer(400, 400);
    let mut test = reference.clone();
    // A bite out of the outer edge, left side.
    fill_disc(&mut test, 25, 200, 12, PAPER);
    // A blob of extra material inside the hole, touching nothing.
    fill_disc(&mut test, 200, 200, 6, INK);
    std::fs::create_dir_all(dir)?;
    reference.save(dir.join("reference.png"))?;
    test.save(dir.join("test.png"))?;
    let reference = LoadedImage::new("reference", DynamicImage::ImageLuma8(reference));
    let test = LoadedImage::new("test", DynamicImage::ImageLuma8(test));
    let inspection = inspect(&reference, &test, &Options::default())?;
    annotate(&test.image, &inspection.defects).save(dir.join("annotated.png"))?;
    let (reference, test, _) = dense_board();
    let reference = LoadedImage::new("dense reference", DynamicImage::ImageLuma8(reference));
    let test = LoadedImage::new("dense test", DynamicImage::ImageLuma8(test));
    let inspection = inspect(&reference, &test, &Options::default())?;
    annotate(&test.image, &inspection.defects).save(dir.join("dense-annotated.png"))?;
    println!(
        "wrote {}/{{reference,test,annotated,dense-annotated}}.png",
        dir.display()
    );
    Ok(())
}

fn seed_like(dir: &Path) -> anyhow::Result<()> {
    let good = washer(1130, 1100);
    let rgba = |gray: &GrayImage| DynamicImage::ImageLuma8(gray.clone()).to_rgba8();
    std::fs::create_dir_all(dir)?;
    rgba(&good).save(dir.join("good.png"))?;
    // (centre x, centre y, radius, value): a blob in the hole, bites from the
    // outer and the inner edge, a blob on the outer edge, as in the originals.
    let defects = [
        (415, 510, 18, INK),
        (95, 400, 15, PAPER),
        (405, 430, 16, PAPER),
        (135, 285, 16, INK),
    ];
    for (i, (x, y, r, value)) in defects.into_iter().enumerate() {
        let mut test = good.clone();
        fill_disc(&mut test, x, y, r, value);
        rgba(&test).save(dir.join(format!("defect{}.png", i + 1)))?;
    }
    println!("wrote {}/{{good,defect1..4}}.png", dir.display());
    Ok(())
}
