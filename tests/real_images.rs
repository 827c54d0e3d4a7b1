//! The default pipeline on generated boards with the nuisances of real
//! images: misregistration, rotation, lighting, noise, JPEG, bit depth,
//! colour, polarity; and thin defects that only topology can tell.

use std::path::Path;

use defect_detect::synth::{board, fill_disc, fill_rect, move_and_turn, INK, PAPER};
use defect_detect::{
    inspect, load, DefectKind, DefectType, Inspection, LoadedImage, Options, Polarity, Rect,
};
use image::{DynamicImage, GrayImage};

/// A defect planted on [`board`], in the reference's pixels.
struct Planted {
    defect_type: DefectType,
    rect: Rect,
}

const fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
    Rect {
        x,
        y,
        width,
        height,
    }
}

/// Draws one of each type (break, hole, notch on cuts; protrusion, island,
/// bridge on flash), `grow` pixels larger than the smallest, and returns
/// what was drawn.
fn plant_all(image: &mut GrayImage) -> Vec<Planted> {
    plant_sized(image, 0)
}

fn plant_sized(image: &mut GrayImage, grow: u32) -> Vec<Planted> {
    let g = grow;
    // An open across a 10 px trace, 3 px wide and more.
    fill_rect(image, 300, 130, 3 + g, 10, PAPER);
    // A pin-hole in a pad (radius 3 or more).
    fill_disc(image, 290, 207, 3 + i64::from(g / 2), PAPER);
    // A mouse-bite from a trace's top edge.
    fill_disc(image, 440, 265, 4 + i64::from(g / 2), PAPER);
    // A spur below a trace.
    fill_rect(image, 200, 320, 4, 7 + g, INK);
    // Spurious copper in an empty area.
    fill_rect(image, 300, 385, 6 + g, 6 + g, INK);
    // A short across the 6 px gap between the bottom traces, 2 px wide and more.
    fill_rect(image, 250, 428, 2 + g, 6, INK);
    let (hole, bite) = (3 + g / 2, 4 + g / 2);
    vec![
        Planted {
            defect_type: DefectType::Break,
            rect: rect(300, 130, 3 + g, 10),
        },
        Planted {
            defect_type: DefectType::Hole,
            rect: rect(290 - hole, 207 - hole, 2 * hole + 1, 2 * hole + 1),
        },
        Planted {
            defect_type: DefectType::Notch,
            rect: rect(440 - bite, 265, 2 * bite + 1, bite + 1),
        },
        Planted {
            defect_type: DefectType::Protrusion,
            rect: rect(200, 320, 4, 7 + g),
        },
        Planted {
            defect_type: DefectType::Island,
            rect: rect(300, 385, 6 + g, 6 + g),
        },
        Planted {
            defect_type: DefectType::Bridge,
            rect: rect(250, 428, 2 + g, 6),
        },
    ]
}

fn kind_of(t: DefectType) -> DefectKind {
    match t {
        DefectType::Break | DefectType::Notch | DefectType::Hole | DefectType::Missing => {
            DefectKind::Cut
        }
        _ => DefectKind::Flash,
    }
}

fn run(reference: DynamicImage, test: DynamicImage, options: &Options) -> Inspection {
    inspect(
        &LoadedImage::new("reference", reference),
        &LoadedImage::new("test", test),
        options,
    )
    .unwrap()
}

fn gray(image: GrayImage) -> DynamicImage {
    DynamicImage::ImageLuma8(image)
}

/// Every planted defect is found once, with its kind and type, every box edge
/// within 2 px, and nothing else is found.
fn assert_found_exactly(inspection: &Inspection, planted: &[Planted], what: &str) {
    let described: Vec<String> = inspection
        .defects
        .iter()
        .map(|d| format!("{} {} {:?}", d.kind, d.defect_type.name(), d.rect))
        .collect();
    assert_eq!(
        inspection.defects.len(),
        planted.len(),
        "{what}: found {described:#?}"
    );
    for p in planted {
        let near = |a: u32, b: u32| a.abs_diff(b) <= 2;
        let found = inspection.defects.iter().any(|d| {
            d.kind == kind_of(p.defect_type)
                && d.defect_type == p.defect_type
                && near(d.rect.x, p.rect.x)
                && near(d.rect.y, p.rect.y)
                && near(d.rect.right(), p.rect.right())
                && near(d.rect.bottom(), p.rect.bottom())
        });
        assert!(
            found,
            "{what}: {:?} at {:?} not found in {described:#?}",
            p.defect_type, p.rect
        );
    }
}

#[test]
fn each_defect_type_is_found_with_its_type_and_box() {
    let reference = board(640, 480);
    let mut test = reference.clone();
    let planted = plant_all(&mut test);
    assert_found_exactly(
        &run(gray(reference), gray(test), &Options::default()),
        &planted,
        "plain",
    );
}

#[test]
fn each_type_is_found_at_several_sizes_and_both_orientations() {
    for grow in [0, 2, 4] {
        let reference = board(640, 480);
        let mut test = reference.clone();
        let planted = plant_sized(&mut test, grow);
        let what = format!("grown by {grow}");
        assert_found_exactly(
            &run(
                gray(reference.clone()),
                gray(test.clone()),
                &Options::default(),
            ),
            &planted,
            &what,
        );
        // Turned a quarter clockwise: (x, y) -> (479 - y, x).
        let turned: Vec<Planted> = planted
            .iter()
            .map(|p| Planted {
                defect_type: p.defect_type,
                rect: rect(480 - p.rect.bottom(), p.rect.x, p.rect.height, p.rect.width),
            })
            .collect();
        let (reference, test) = (
            image::imageops::rotate90(&reference),
            image::imageops::rotate90(&test),
        );
        assert_found_exactly(
            &run(gray(reference), gray(test), &Options::default()),
            &turned,
            &format!("{what}, turned"),
        );
    }
}

#[test]
fn defects_at_the_image_edge_keep_their_type_and_box() {
    let reference = board(640, 480);
    let mut test = reference.clone();
    // Spurious copper in the top-left corner and a bite out of the left end
    // of a trace that starts at the image edge.
    fill_rect(&mut test, 0, 0, 6, 8, INK);
    let mut reference = reference;
    fill_rect(&mut reference, 0, 200, 30, 10, INK);
    fill_rect(&mut test, 0, 200, 30, 10, INK);
    fill_rect(&mut test, 0, 200, 5, 4, PAPER);
    let planted = [
        Planted {
            defect_type: DefectType::Island,
            rect: rect(0, 0, 6, 8),
        },
        Planted {
            defect_type: DefectType::Notch,
            rect: rect(0, 200, 5, 4),
        },
    ];
    assert_found_exactly(
        &run(gray(reference), gray(test), &Options::default()),
        &planted,
        "image edge",
    );
}

#[test]
fn a_vanished_pad_is_missing_and_a_filled_hole_is_filled() {
    let mut reference = board(640, 480);
    // The reference has a drilled pad that the test lacks the hole of.
    fill_disc(&mut reference, 170, 72, 3, PAPER);
    let mut test = board(640, 480);
    // And a whole pad is gone from the test.
    fill_disc(&mut test, 80, 72, 10, PAPER);
    let planted = [
        Planted {
            defect_type: DefectType::Missing,
            rect: rect(71, 63, 19, 19),
        },
        Planted {
            defect_type: DefectType::Filled,
            rect: rect(167, 69, 7, 7),
        },
    ];
    assert_found_exactly(
        &run(gray(reference), gray(test), &Options::default()),
        &planted,
        "missing and filled",
    );
}

#[test]
fn ignore_mask_follows_a_shifted_test() {
    let reference = board(640, 480);
    let mut drawn = reference.clone();
    fill_rect(&mut drawn, 300, 385, 6, 6, INK);
    let test = move_and_turn(&drawn, 6.0, 4.0, 0.0, PAPER);
    let mut mask = GrayImage::new(640, 480);
    fill_rect(&mut mask, 296, 381, 14, 14, 255);
    let mask = defect_detect::ignore::IgnoreMask {
        path: "mask.png".into(),
        pixels: std::sync::Arc::new(mask),
    };
    let options = Options {
        ignore: defect_detect::Ignore {
            rects: vec![],
            mask: Some(mask),
        },
        ..Options::default()
    };
    assert!(run(gray(reference), gray(test), &options)
        .defects
        .is_empty());
}

#[test]
fn identical_boards_have_no_defect() {
    let reference = board(640, 480);
    let inspection = run(
        gray(reference.clone()),
        gray(reference),
        &Options::default(),
    );
    assert!(inspection.defects.is_empty());
}

#[test]
fn shifted_and_rotated_clean_board_has_no_defect() {
    let reference = board(640, 480);
    let test = move_and_turn(&reference, 5.0, -3.0, 2.0, PAPER);
    let inspection = run(gray(reference), gray(test), &Options::default());
    let a = inspection.alignment;
    assert!(
        (a.dx - 5.0).abs() <= 1.0 && (a.dy + 3.0).abs() <= 1.0,
        "{a:?}"
    );
    assert!((a.angle_degrees - 2.0).abs() <= 0.3, "{a:?}");
    assert!(inspection.defects.is_empty(), "{:#?}", inspection.defects);
}

#[test]
fn shifted_and_rotated_board_gives_exactly_the_planted_defects() {
    let reference = board(640, 480);
    let mut drawn = reference.clone();
    let planted = plant_all(&mut drawn);
    let (dx, dy, angle) = (5.0, -3.0, 2.0);
    let test = move_and_turn(&drawn, dx, dy, angle, PAPER);
    // Where each planted box lands in the test.
    let moved: Vec<Planted> = planted
        .iter()
        .map(|p| Planted {
            defect_type: p.defect_type,
            rect: moved_box(p.rect, dx, dy, angle, 640, 480),
        })
        .collect();
    assert_found_exactly(
        &run(gray(reference), gray(test), &Options::default()),
        &moved,
        "moved and turned",
    );
}

fn moved_box(r: Rect, dx: f64, dy: f64, angle: f64, w: u32, h: u32) -> Rect {
    let (cx, cy) = ((f64::from(w) - 1.0) / 2.0, (f64::from(h) - 1.0) / 2.0);
    let (sin, cos) = angle.to_radians().sin_cos();
    let centre = (
        f64::from(r.x) + f64::from(r.width) / 2.0 - 0.5,
        f64::from(r.y) + f64::from(r.height) / 2.0 - 0.5,
    );
    let (vx, vy) = (centre.0 - cx, centre.1 - cy);
    let (mx, my) = (cx + cos * vx - sin * vy + dx, cy + sin * vx + cos * vy + dy);
    Rect {
        x: (mx - f64::from(r.width) / 2.0 + 0.5).round() as u32,
        y: (my - f64::from(r.height) / 2.0 + 0.5).round() as u32,
        width: r.width,
        height: r.height,
    }
}

/// A deterministic pseudo-random normal deviate stream (xorshift + Box-Muller).
fn gaussian(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    move || {
        let (u, v) = (uniform().max(1e-12), uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn nuisance(name: &str, image: &GrayImage, dir: &Path) -> DynamicImage {
    let (w, _) = image.dimensions();
    match name {
        "ramp" => {
            let mut out = image.clone();
            for (x, _, p) in out.enumerate_pixels_mut() {
                let gain = 0.7 + 0.6 * f64::from(x) / f64::from(w - 1);
                p[0] = (f64::from(p[0]) * gain).round().clamp(0.0, 255.0) as u8;
            }
            gray(out)
        }
        "dim" => gray(GrayImage::from_fn(image.width(), image.height(), |x, y| {
            image::Luma([(f64::from(image.get_pixel(x, y)[0]) * 0.6) as u8])
        })),
        "noise" => {
            let mut next = gaussian(7);
            let mut out = image.clone();
            for p in out.pixels_mut() {
                p[0] = (f64::from(p[0]) + 8.0 * next()).round().clamp(0.0, 255.0) as u8;
            }
            gray(out)
        }
        "jpeg60" => {
            let path = dir.join("test.jpg");
            let file = std::fs::File::create(&path).unwrap();
            gray(image.clone())
                .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(file, 60))
                .unwrap();
            load::load(&path, u64::MAX).unwrap().image
        }
        "png16" => {
            let path = dir.join("test16.png");
            gray(image.clone()).to_luma16().save(&path).unwrap();
            let loaded = load::load(&path, u64::MAX).unwrap().image;
            assert!(matches!(loaded, DynamicImage::ImageLuma16(_)));
            loaded
        }
        "colour" => {
            // Copper-brown material on a pale green board.
            let rgb = image::RgbImage::from_fn(image.width(), image.height(), |x, y| {
                if image.get_pixel(x, y)[0] < 128 {
                    image::Rgb([120, 60, 20])
                } else {
                    image::Rgb([200, 230, 190])
                }
            });
            DynamicImage::ImageRgb8(rgb)
        }
        _ => unreachable!("unknown nuisance {name}"),
    }
}

#[test]
fn planted_defects_survive_every_nuisance() {
    let dir = tempfile::tempdir().unwrap();
    let reference = board(640, 480);
    let mut test = reference.clone();
    let planted = plant_all(&mut test);
    for name in ["ramp", "dim", "noise", "jpeg60", "png16", "colour"] {
        let inspection = run(
            nuisance(name, &reference, dir.path()),
            nuisance(name, &test, dir.path()),
            &Options::default(),
        );
        assert_found_exactly(&inspection, &planted, name);
    }
}

#[test]
fn light_material_on_dark_background_with_light_polarity() {
    let mut reference = board(640, 480);
    let mut test = reference.clone();
    let planted = plant_all(&mut test);
    image::imageops::invert(&mut reference);
    image::imageops::invert(&mut test);
    let options = Options {
        polarity: Some(Polarity::Light),
        ..Options::default()
    };
    assert_found_exactly(
        &run(gray(reference), gray(test), &options),
        &planted,
        "light polarity",
    );
}

#[test]
fn ignore_rectangle_follows_a_shifted_test() {
    let reference = board(640, 480);
    let mut drawn = reference.clone();
    fill_rect(&mut drawn, 300, 385, 6, 6, INK);
    let test = move_and_turn(&drawn, 6.0, 4.0, 0.0, PAPER);
    // The island is at (306, 389) in the test, but the rectangle is given
    // where it sits on the reference.
    let mut options = Options::default();
    assert_eq!(
        run(gray(reference.clone()), gray(test.clone()), &options)
            .defects
            .len(),
        1
    );
    options.ignore.rects = vec![rect(296, 381, 14, 14)];
    assert!(run(gray(reference), gray(test), &options)
        .defects
        .is_empty());
}
