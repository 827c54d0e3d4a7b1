//! Draws the sample pair shipped in `assets/sample/`: a washer, and a copy with
//! a bite taken out of its outer edge (cut) and a blob grown into its hole
//! (flash).
//!
//! `cargo run --example make_sample` rewrites them, and the annotated result
//! that the README shows.

use defect_detect::synth::{fill_disc, washer, INK, PAPER};
use defect_detect::{annotate::annotate, inspect, LoadedImage, Options};
use image::DynamicImage;

fn main() -> anyhow::Result<()> {
    let reference = washer(400, 400);
    let mut test = reference.clone();
    // A bite out of the outer edge, left side.
    fill_disc(&mut test, 25, 200, 12, PAPER);
    // A blob of extra material inside the hole, touching nothing.
    fill_disc(&mut test, 200, 200, 6, INK);
    std::fs::create_dir_all("assets/sample")?;
    reference.save("assets/sample/reference.png")?;
    test.save("assets/sample/test.png")?;
    let reference = LoadedImage::new("reference", DynamicImage::ImageLuma8(reference));
    let test = LoadedImage::new("test", DynamicImage::ImageLuma8(test));
    let inspection = inspect(&reference, &test, &Options::default())?;
    annotate(&test.image, &inspection.defects).save("assets/sample/annotated.png")?;
    println!("wrote assets/sample/{{reference,test,annotated}}.png");
    Ok(())
}
