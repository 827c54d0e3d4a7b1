//! Per-stage cost of the pipeline, on generated images and, when given, on
//! real files: `DD_BENCH_PNG=path.png DD_BENCH_JPEG=path.jpg cargo bench`.
//!
//! Decode is the floor every other stage is measured against: a stage that
//! costs more than decoding its input is the next thing to make cheap.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, criterion_main, Criterion};
use defect_detect::synth::{fill_disc, washer, INK, PAPER};
use defect_detect::{
    align, annotate, binarize, classify, compare, components, grayscale, load, Polarity, Threshold,
};
use image::{DynamicImage, ImageFormat};

/// A 1130x1100 RGBA washer pair like the original images, with one cut.
fn seed_like_pair() -> (DynamicImage, DynamicImage) {
    let reference = washer(1130, 1100);
    let mut test = reference.clone();
    fill_disc(&mut test, 95, 280, 15, PAPER);
    fill_disc(&mut test, 560, 550, 8, INK);
    (
        DynamicImage::ImageRgba8(DynamicImage::ImageLuma8(reference).to_rgba8()),
        DynamicImage::ImageRgba8(DynamicImage::ImageLuma8(test).to_rgba8()),
    )
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, format)
        .expect("encoding a generated image");
    out.into_inner()
}

fn file_or(var: &str, fallback: Vec<u8>) -> (String, Vec<u8>) {
    match std::env::var(var) {
        Ok(path) => {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{var}={path}: {e}"));
            (path, bytes)
        }
        Err(_) => ("generated".into(), fallback),
    }
}

fn stages(c: &mut Criterion) {
    let (reference, test) = seed_like_pair();
    let (png_name, png) = file_or("DD_BENCH_PNG", encoded(&test, ImageFormat::Png));
    let jpeg_fallback = DynamicImage::ImageLuma8(
        test.resize_exact(640, 640, image::imageops::FilterType::Triangle)
            .to_luma8(),
    );
    let (jpeg_name, jpeg) = file_or("DD_BENCH_JPEG", encoded(&jpeg_fallback, ImageFormat::Jpeg));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let png_path = dir.path().join("bench.png");
    let jpeg_path = dir.path().join("bench.jpg");
    std::fs::write(&png_path, &png).expect("writing the bench PNG");
    std::fs::write(&jpeg_path, &jpeg).expect("writing the bench JPEG");

    c.bench_function(&format!("decode png ({png_name})"), |b| {
        b.iter(|| load::load(black_box(&png_path), u64::MAX).expect("decodable"))
    });
    c.bench_function(&format!("decode jpeg ({jpeg_name})"), |b| {
        b.iter(|| load::load(black_box(&jpeg_path), u64::MAX).expect("decodable"))
    });
    c.bench_function(&format!("decode jpeg to luma ({jpeg_name})"), |b| {
        b.iter(|| load::load_luma(black_box(&jpeg_path), u64::MAX).expect("decodable"))
    });

    c.bench_function("grayscale rgba 1130x1100", |b| {
        b.iter(|| grayscale::to_gray(black_box(&test), Polarity::Dark))
    });
    let reference_gray = grayscale::to_gray(&reference, Polarity::Dark);
    let test_gray = grayscale::to_gray(&test, Polarity::Dark);
    c.bench_function("binarize otsu 1130x1100", |b| {
        b.iter(|| binarize::binarize(black_box(&test_gray), Threshold::Otsu, Polarity::Dark))
    });
    let reference_mask = binarize::binarize(&reference_gray, Threshold::Otsu, Polarity::Dark);
    let test_mask = binarize::binarize(&test_gray, Threshold::Otsu, Polarity::Dark);
    let align_params = align::AlignParams::default();
    c.bench_function("align rigid + field 1130x1100", |b| {
        b.iter(|| {
            align::register(
                black_box(&reference_mask),
                None,
                black_box(&test_mask),
                &align_params,
            )
        })
    });
    let registration = align::register(&reference_mask, None, &test_mask, &align_params);
    let compare_params = compare::CompareParams::default();
    c.bench_function("compare with tolerance 1130x1100", |b| {
        b.iter(|| {
            compare::compare(
                black_box(&registration.reference),
                black_box(&test_mask),
                registration.care.as_ref(),
                &compare_params,
            )
        })
    });
    // Typing and scoring, against the comparison that finds the defects, on a
    // board with planted defects (DeepPCB pairs have 1-12).
    let board = defect_detect::synth::board(640, 480);
    let mut board_test = board.clone();
    for (x, y, r, value) in [
        (300, 135, 2, PAPER),
        (290, 207, 3, PAPER),
        (440, 265, 4, PAPER),
        (202, 323, 3, INK),
        (303, 388, 3, INK),
        (250, 431, 2, INK),
    ] {
        fill_disc(&mut board_test, x, y, r, value);
    }
    let board_mask = binarize::binarize(&board, Threshold::Otsu, Polarity::Dark);
    let board_test_mask = binarize::binarize(&board_test, Threshold::Otsu, Polarity::Dark);
    c.bench_function("compare with tolerance, board 640x480", |b| {
        b.iter(|| {
            compare::compare(
                black_box(&board_mask),
                black_box(&board_test_mask),
                None,
                &compare_params,
            )
        })
    });
    let found = compare::compare(&board_mask, &board_test_mask, None, &compare_params);
    c.bench_function("classify and score, board 640x480", |b| {
        b.iter(|| {
            black_box(&found)
                .iter()
                .map(|d| {
                    (
                        classify::classify(d),
                        classify::score(d, compare_params.tolerance),
                    )
                })
                .collect::<Vec<_>>()
        })
    });
    let difference = test_mask.combine(&reference_mask, |t, r| t & !r);
    c.bench_function("label components 1130x1100", |b| {
        b.iter(|| components::label8(black_box(&difference)))
    });
    let inspection = defect_detect::inspect(
        &defect_detect::LoadedImage::new("reference", reference.clone()),
        &defect_detect::LoadedImage::new("test", test.clone()),
        &defect_detect::Options::default(),
    )
    .expect("same sizes");
    let defects = inspection.defects;
    c.bench_function("annotate 1130x1100", |b| {
        b.iter(|| annotate::annotate(black_box(&test), &defects))
    });
    let annotated = annotate::annotate(&test, &defects);
    let out = dir.path().join("annotated.png");
    c.bench_function("encode png 1130x1100", |b| {
        b.iter(|| defect_detect::output::save_png(&out, black_box(&annotated)).expect("writable"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = stages
}
criterion_main!(benches);
