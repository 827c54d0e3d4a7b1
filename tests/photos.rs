//! Camera photos of bare boards (`synth::photo`): several grey levels, dot
//! texture, grain, light fall-off, blur, noise, JPEG and colour, in both
//! tones. The default options must find the planted defects, of the right
//! kind, and nothing else.

use defect_detect::synth::photo::{jpeg_round_trip, photo_pair, PhotoSpec, Tone};
use defect_detect::{inspect, LoadedImage, Options, Polarity};
use image::DynamicImage;

/// Inspects a generated pair with the defaults, the test's light scaled by
/// `gain`, and checks the polarity chosen, that every detection is a planted
/// defect (its centre inside a planted box of the same kind) and that at
/// most one is missed.
fn finds_the_planted_defects(
    tone: Tone,
    seed: u64,
    polarity: Polarity,
    gain: f32,
) -> defect_detect::Inspection {
    let spec = PhotoSpec {
        width: 2000,
        height: 1500,
        seed,
        tone,
    };
    let pair = photo_pair(&spec);
    let load = |name: &str, image| {
        LoadedImage::new(name, DynamicImage::ImageRgb8(jpeg_round_trip(image, 90)))
    };
    let mut lit = pair.test.clone();
    for value in lit.iter_mut() {
        *value = (f32::from(*value) * gain).round().min(255.0) as u8;
    }
    let (reference, test) = (load("ref", &pair.reference), load("test", &lit));
    let inspection = inspect(&reference, &test, &Options::default()).unwrap();
    assert_eq!(inspection.polarity, polarity, "{tone:?} seed {seed}");
    assert!(
        pair.defects.len() >= 8,
        "the generator planted {}",
        pair.defects.len()
    );
    let inside = |d: &defect_detect::Defect, p: &defect_detect::synth::photo::Planted| {
        let (cx, cy) = (d.rect.x + d.rect.width / 2, d.rect.y + d.rect.height / 2);
        d.kind == p.kind
            && (p.rect.x..p.rect.right()).contains(&cx)
            && (p.rect.y..p.rect.bottom()).contains(&cy)
    };
    for d in &inspection.defects {
        assert!(
            pair.defects.iter().any(|p| inside(d, p)),
            "{tone:?} seed {seed}: false call {d:?}"
        );
    }
    // The smallest bites and holes at this size are a few pixels across
    // under a blur of a pixel and a half: one miss a board is allowed.
    let missed: Vec<_> = pair
        .defects
        .iter()
        .filter(|p| !inspection.defects.iter().any(|d| inside(d, p)))
        .collect();
    assert!(missed.len() <= 1, "{tone:?} seed {seed}: missed {missed:?}");
    inspection
}

#[test]
fn light_copper_on_a_dark_board_is_found_without_flags() {
    for seed in [1, 2] {
        finds_the_planted_defects(Tone::LightOnDark, seed, Polarity::Light, 1.0);
    }
}

#[test]
fn dark_copper_on_a_light_board_is_found_without_flags() {
    for seed in [1, 2] {
        finds_the_planted_defects(Tone::DarkOnLight, seed, Polarity::Dark, 1.0);
    }
}

/// A test taken under light 0.4 times as bright: its own level, following its exposure,
/// can land on another boundary of the board (the pads' instead of the
/// traces'); the level agreement check puts it back on the reference's.
#[test]
fn a_test_under_other_light_is_binarized_on_the_reference_boundary() {
    for (tone, seed, polarity) in [
        (Tone::LightOnDark, 2, Polarity::Light),
        (Tone::DarkOnLight, 3, Polarity::Dark),
    ] {
        let levels = finds_the_planted_defects(tone, seed, polarity, 0.4).threshold;
        let own = levels.test_own.expect("the test's own level was set aside");
        assert_ne!(own, levels.test, "{tone:?}: {levels:?}");
    }
}

/// A batch result says when the test's level was replaced, and why.
#[test]
fn a_replaced_level_is_a_warning_in_the_result() {
    let pair = photo_pair(&PhotoSpec {
        width: 1200,
        height: 900,
        seed: 0,
        tone: Tone::LightOnDark,
    });
    let mut dim = pair.test.clone();
    for value in dim.iter_mut() {
        *value = (f32::from(*value) * 0.4).round() as u8;
    }
    let dir = tempfile::tempdir().unwrap();
    let (reference, test) = (dir.path().join("ref.png"), dir.path().join("test.png"));
    pair.reference.save(&reference).unwrap();
    dim.save(&test).unwrap();
    let pairs = [defect_detect::batch::Pair::new(&reference, &test)];
    let results = defect_detect::batch::run(&pairs, &Options::default(), &Default::default());
    let levels = results[0].threshold.unwrap();
    assert!(levels.test_own.is_some(), "{levels:?}");
    assert!(
        results[0]
            .warnings
            .iter()
            .any(|w| w.contains("different amounts of material")),
        "{:?}",
        results[0].warnings
    );
}

/// Otsu's level falls between the pads and everything else, which is why
/// the default follows the edges instead: with it, the traces vanish.
#[test]
fn otsu_misses_the_traces_of_a_photo() {
    let pair = photo_pair(&PhotoSpec {
        width: 1200,
        height: 900,
        seed: 1,
        tone: Tone::LightOnDark,
    });
    let gray = image::imageops::grayscale(&pair.reference);
    let otsu = defect_detect::binarize::level(&gray, defect_detect::Threshold::Otsu);
    let auto = defect_detect::binarize::level(&gray, defect_detect::Threshold::Auto);
    assert!(otsu > 90, "otsu {otsu}");
    assert!((45..70).contains(&auto), "auto {auto}");
}
