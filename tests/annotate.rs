//! The annotated picture on a crowded board: every defect labelled, no label
//! on another label or on a box, none outside the picture.

use defect_detect::annotate::{self, colour};
use defect_detect::synth::dense_board;
use defect_detect::{inspect, Defect, LoadedImage, Options, Rect};
use image::DynamicImage;

fn dense_inspection() -> (DynamicImage, Vec<Defect>) {
    let (reference, test, planted) = dense_board();
    let test = DynamicImage::ImageLuma8(test);
    let defects = inspect(
        &LoadedImage::new("reference", DynamicImage::ImageLuma8(reference)),
        &LoadedImage::new("test", test.clone()),
        &Options::default(),
    )
    .unwrap()
    .defects;
    for (kind, rect) in &planted {
        assert!(
            defects.iter().any(|d| d.kind == *kind && d.rect == *rect),
            "planted {kind} {rect:?} not found"
        );
    }
    assert_eq!(defects.len(), planted.len());
    (test, defects)
}

fn intersects(a: &Rect, b: &Rect) -> bool {
    a.x < b.right() && b.x < a.right() && a.y < b.bottom() && b.y < a.bottom()
}

/// The box as drawn reaches this far around the defect at least.
fn grown(r: &Rect, by: u32) -> Rect {
    Rect {
        x: r.x.saturating_sub(by),
        y: r.y.saturating_sub(by),
        width: r.width + 2 * by,
        height: r.height + 2 * by,
    }
}

#[test]
fn dense_board_labels_never_overlap_labels_or_boxes_and_stay_inside() {
    let (test, defects) = dense_inspection();
    let labels = annotate::label_layout(test.width(), test.height(), &defects);
    let plates: Vec<Rect> = labels
        .iter()
        .map(|l| {
            l.expect("every defect of the board has room for a label")
                .plate
        })
        .collect();
    for (i, a) in plates.iter().enumerate() {
        assert!(a.right() <= test.width() && a.bottom() <= test.height());
        for b in &plates[i + 1..] {
            assert!(!intersects(a, b), "labels {a:?} and {b:?} overlap");
        }
        for d in &defects {
            assert!(
                !intersects(a, &grown(&d.rect, 3)),
                "label {a:?} on box {d:?}"
            );
        }
    }
    assert!(
        labels.iter().all(|l| !l.unwrap().short),
        "a label lost its type"
    );
}

#[test]
fn every_label_is_drawn_where_the_layout_puts_it() {
    let (test, defects) = dense_inspection();
    let labels = annotate::label_layout(test.width(), test.height(), &defects);
    let canvas = annotate::annotate(&test, &defects);
    for (defect, label) in defects.iter().zip(&labels) {
        let plate = label.unwrap().plate;
        assert_eq!(canvas.get_pixel(plate.x, plate.y), &image::Rgb([0, 0, 0]));
        let inside = (plate.x + 1..plate.right() - 1)
            .flat_map(|x| (plate.y + 1..plate.bottom() - 1).map(move |y| (x, y)))
            .filter(|&(x, y)| canvas.get_pixel(x, y) == &colour(defect.kind))
            .count();
        assert!(
            inside * 3 > (plate.width * plate.height) as usize,
            "plate {plate:?} not drawn"
        );
    }
}

#[test]
fn text_grows_with_the_picture() {
    let (_, defects) = dense_inspection();
    let height = |w, h| {
        annotate::label_layout(w, h, &defects[..1])[0]
            .unwrap()
            .plate
            .height
    };
    let (small, large) = (height(640, 480), height(5000, 3750));
    assert!((14..=20).contains(&small), "{small}");
    // Fitted to a 1,400 px wide window, the large picture's plates stay at
    // least as tall as the small one's 14 px text.
    assert!(large * 1400 / 5000 >= 14, "{large} px on 5,000 px");
}
