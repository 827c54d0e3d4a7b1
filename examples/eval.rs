//! Evaluation harness: inspects every pair of a labelled data set with the
//! library and scores the detections against the ground-truth boxes.
//!
//! ```text
//! cargo run --release --example eval -- deeppcb ROOT LIST [--limit N]
//!     [--align none|translate|rigid] [--tolerance PX] [--min-area N] [--false-calls FILE]
//! cargo run --release --example eval -- photos DIR [--count N] [--size WxH] [...]
//! ```
//!
//! `photos` first writes a data set of photo-like boards into `DIR` (see
//! `defect_detect::synth::photo`): seeds 1 to N (default 4), each in both
//! tones (light copper on a dark board, dark on a light one), `--size`
//! (default 3000x1600), JPEG quality 90, with DeepPCB-style annotations and
//! list (`DIR/list.txt`); then it scores that set exactly as below. The
//! planted defects map to DeepPCB types by name (open 1, short 2, mouse-bite
//! 3, spur 4, spurious copper 5, pin-hole 6).
//!
//! `ROOT` holds the DeepPCB images and annotations; each line of `LIST` is
//! `group/dir/X.jpg group/dir_not/X.txt` (as in DeepPCB's `trainval.txt`).
//! The pair is `ROOT/group/dir/X_temp.jpg` (reference) and
//! `ROOT/group/dir/X_test.jpg` (test); the annotation `ROOT/group/dir_not/X.txt`
//! has one box a line, `x1 y1 x2 y2 type`, space or comma separated. DeepPCB
//! types: 1 open, 2 short, 3 mouse-bite, 4 spur, 5 spurious copper, 6 pin-hole.
//! Types 2, 4 and 5 are extra copper (our flash), 1, 3 and 6 missing copper
//! (our cut); the type names we expect are 1 break, 2 bridge, 3 notch,
//! 4 protrusion, 5 island, 6 hole. `--limit N` evaluates the first N pairs;
//! the other flags set the corresponding [`Options`] fields.
//!
//! Matching is per pair, greedy, best overlap first, and only between a
//! detection and a ground-truth box of the same kind (flash or cut); each
//! box and each detection is matched at most once. An unmatched detection is
//! a false positive, an unmatched box a miss. Two rules decide which pairs
//! may match:
//!
//! - Rule A (the project's): at least half of the detection's box lies inside
//!   the ground-truth box. DeepPCB's boxes are loose (drawn with a margin of
//!   several pixels around a small defect), so a tight, correct detection has
//!   a low IoU with its box; what matters is that it points at the box.
//!   Overlap for the greedy order is the fraction of the detection inside.
//! - Rule B (the DeepPCB paper's): IoU above 0.33.
//!
//! Reported: throughput and per-pair decode / analysis time (time spent on
//! the worker thread, summed over pairs and divided by the pair count);
//! precision, recall and F1 under both rules, overall and per kind; recall per
//! DeepPCB type and a type confusion matrix (rule A); and average precision
//! per kind from the defect score, VOC style (area under the all-point
//! interpolated precision envelope), with a detection counted as a true
//! positive when the score-independent matching above matched it.
//!
//! Exits 2 on a usage error or an unreadable list. A pair whose images or
//! annotation cannot be read is reported on stderr, counted, and left out of
//! every metric.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use defect_detect::load::load_luma;
use defect_detect::synth::photo::{jpeg, photo_pair, PhotoSpec, Tone};
use defect_detect::{AlignMode, Defect, DefectKind, DefectType, Options, PreparedReference};
use rayon::prelude::*;

// The binary's allocator, so that the time split is the tool's: with the
// system allocator, large freed buffers go back to the kernel and every
// pair faults them in again.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: eval deeppcb ROOT LIST | photos DIR [--count N] [--size WxH]; then [--limit N] [--align none|translate|rigid] [--tolerance PX] [--min-area N] [--false-calls FILE]";

/// DeepPCB type names, indexed by type - 1.
const DEEPPCB_NAMES: [&str; 6] = [
    "open",
    "short",
    "mousebite",
    "spur",
    "spurious copper",
    "pin-hole",
];

/// The kind a DeepPCB type (1-6) belongs to.
fn kind_of(class: u8) -> DefectKind {
    match class {
        2 | 4 | 5 => DefectKind::Flash,
        _ => DefectKind::Cut,
    }
}

/// The type we expect the tool to report for a DeepPCB type (1-6).
fn expected_type(class: u8) -> DefectType {
    match class {
        1 => DefectType::Break,
        2 => DefectType::Bridge,
        3 => DefectType::Notch,
        4 => DefectType::Protrusion,
        5 => DefectType::Island,
        _ => DefectType::Hole,
    }
}

fn type_index(t: DefectType) -> usize {
    DefectType::ALL
        .iter()
        .position(|&u| u == t)
        .expect("DefectType::ALL lists every type")
}

const KINDS: [DefectKind; 2] = [DefectKind::Flash, DefectKind::Cut];

struct Args {
    root: PathBuf,
    list: PathBuf,
    limit: Option<usize>,
    options: Options,
    /// For `photos`: how many seeds, and the image size.
    photos: Option<(u64, u32, u32)>,
    /// `--false-calls FILE`: every unmatched detection (rule A), a line each.
    false_calls: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let (root, list, rest, photos) = match args {
        [set, root, list, rest @ ..] if set == "deeppcb" => {
            (PathBuf::from(root), PathBuf::from(list), rest, None)
        }
        [set, dir, rest @ ..] if set == "photos" => {
            let dir = PathBuf::from(dir);
            (
                dir.clone(),
                dir.join("list.txt"),
                rest,
                Some((4, 3000, 1600)),
            )
        }
        [set, ..] if set != "deeppcb" => return Err(format!("unknown data set '{set}'")),
        _ => return Err("missing arguments".into()),
    };
    let mut parsed = Args {
        root,
        list,
        limit: None,
        options: Options::default(),
        photos,
        false_calls: None,
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        let bad = || format!("bad value '{value}' for {flag}");
        match flag.as_str() {
            "--limit" => parsed.limit = Some(value.parse().map_err(|_| bad())?),
            "--align" => {
                parsed.options.align = match value {
                    "none" => AlignMode::None,
                    "translate" => AlignMode::Translate,
                    "rigid" => AlignMode::Rigid,
                    _ => return Err(bad()),
                }
            }
            "--tolerance" => {
                let t: f32 = value.parse().map_err(|_| bad())?;
                if !t.is_finite() || t < 0.0 {
                    return Err(bad());
                }
                parsed.options.tolerance = t;
            }
            "--min-area" => parsed.options.min_area = value.parse().map_err(|_| bad())?,
            "--false-calls" => parsed.false_calls = Some(PathBuf::from(value)),
            "--count" | "--size" => {
                let Some((count, width, height)) = parsed.photos.as_mut() else {
                    return Err(format!("{flag} is for the photos data set"));
                };
                if flag == "--count" {
                    *count = value.parse().map_err(|_| bad())?;
                } else {
                    let (w, h) = value.split_once('x').ok_or_else(bad)?;
                    (*width, *height) =
                        (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
                }
            }
            _ => return Err(format!("unknown option '{flag}'")),
        }
    }
    Ok(parsed)
}

/// An axis-aligned box, `[x1, x2) x [y1, y2)`.
#[derive(Clone, Copy, Debug)]
struct BoxF {
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
}

impl BoxF {
    fn area(&self) -> f64 {
        (self.x2 - self.x1).max(0.0) * (self.y2 - self.y1).max(0.0)
    }

    fn intersection(&self, o: &BoxF) -> f64 {
        let w = self.x2.min(o.x2) - self.x1.max(o.x1);
        let h = self.y2.min(o.y2) - self.y1.max(o.y1);
        w.max(0.0) * h.max(0.0)
    }
}

struct Truth {
    /// DeepPCB type, 1-6.
    class: u8,
    bbox: BoxF,
}

struct Detection {
    area: u32,
    kind: DefectKind,
    defect_type: DefectType,
    score: f32,
    bbox: BoxF,
}

impl From<&Defect> for Detection {
    fn from(d: &Defect) -> Self {
        let r = d.rect;
        Self {
            area: d.area,
            kind: d.kind,
            defect_type: d.defect_type,
            score: d.score,
            bbox: BoxF {
                x1: f64::from(r.x),
                y1: f64::from(r.y),
                x2: f64::from(r.right()),
                y2: f64::from(r.bottom()),
            },
        }
    }
}

#[derive(Clone, Copy)]
enum Rule {
    /// At least half of the detection's box inside the ground-truth box.
    HalfInside,
    /// IoU above 0.33.
    Iou,
}

const RULES: [Rule; 2] = [Rule::HalfInside, Rule::Iou];

impl Rule {
    fn title(self) -> &'static str {
        match self {
            Rule::HalfInside => "rule A (>= half of detection inside GT box)",
            Rule::Iou => "rule B (IoU > 0.33)",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Rule::HalfInside => "rule A",
            Rule::Iou => "rule B",
        }
    }

    /// The overlap the greedy matching ranks by, if the pair may match.
    fn overlap(self, det: &BoxF, gt: &BoxF) -> Option<f64> {
        let inter = det.intersection(gt);
        match self {
            Rule::HalfInside => {
                let area = det.area();
                let inside = if area > 0.0 { inter / area } else { 0.0 };
                (inside >= 0.5).then_some(inside)
            }
            Rule::Iou => {
                let union = det.area() + gt.area() - inter;
                let iou = if union > 0.0 { inter / union } else { 0.0 };
                (iou > 0.33).then_some(iou)
            }
        }
    }
}

/// Greedy one-to-one matching, best overlap first; returns, per detection,
/// the index of the ground-truth box it matched.
fn greedy(dets: &[Detection], truths: &[Truth], rule: Rule) -> Vec<Option<usize>> {
    let mut candidates = Vec::new();
    for (i, d) in dets.iter().enumerate() {
        for (j, g) in truths.iter().enumerate() {
            if d.kind != kind_of(g.class) {
                continue;
            }
            if let Some(v) = rule.overlap(&d.bbox, &g.bbox) {
                candidates.push((v, i, j));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut det_match = vec![None; dets.len()];
    let mut gt_taken = vec![false; truths.len()];
    for (_, i, j) in candidates {
        if det_match[i].is_none() && !gt_taken[j] {
            det_match[i] = Some(j);
            gt_taken[j] = true;
        }
    }
    det_match
}

/// Everything kept from one evaluated pair.
struct PairResult {
    /// The list line the pair came from.
    line: String,
    /// The board the pair shows: the list line's first path component
    /// (DeepPCB's `groupNNNNN`), or `-` when the line has none.
    group: String,
    truths: Vec<Truth>,
    dets: Vec<Detection>,
    /// Per rule (index as in `RULES`), per detection: matched truth.
    matches: [Vec<Option<usize>>; 2],
    decode: Duration,
    analysis: Duration,
}

fn read_annotation(path: &Path) -> Result<Vec<Truth>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut truths = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        if fields.is_empty() {
            continue;
        }
        let bad = || format!("{}:{}: expected 'x1 y1 x2 y2 type'", path.display(), n + 1);
        if fields.len() != 5 {
            return Err(bad());
        }
        let mut v = [0.0f64; 4];
        for (slot, f) in v.iter_mut().zip(&fields[..4]) {
            *slot = f.parse().map_err(|_| bad())?;
        }
        let class: u8 = fields[4].parse().map_err(|_| bad())?;
        if !(1..=6).contains(&class) {
            return Err(bad());
        }
        truths.push(Truth {
            class,
            bbox: BoxF {
                x1: v[0].min(v[2]),
                y1: v[1].min(v[3]),
                x2: v[0].max(v[2]),
                y2: v[1].max(v[3]),
            },
        });
    }
    Ok(truths)
}

/// The reference, test and annotation paths of one list line.
fn pair_paths(root: &Path, line: &str) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let mut fields = line.split_whitespace();
    let (Some(image), Some(annotation)) = (fields.next(), fields.next()) else {
        return Err(format!("bad list line '{line}'"));
    };
    let image = Path::new(image);
    let (Some(dir), Some(stem)) = (image.parent(), image.file_stem()) else {
        return Err(format!("bad image path '{}'", image.display()));
    };
    let stem = stem.to_string_lossy();
    let dir = root.join(dir);
    Ok((
        dir.join(format!("{stem}_temp.jpg")),
        dir.join(format!("{stem}_test.jpg")),
        root.join(annotation),
    ))
}

fn group_of(line: &str) -> String {
    let image = line.split_whitespace().next().unwrap_or_default();
    match image.split_once('/') {
        Some((group, _)) => group.to_string(),
        None => "-".to_string(),
    }
}

fn evaluate(root: &Path, line: &str, options: &Options) -> Result<PairResult, String> {
    let (reference_path, test_path, annotation_path) = pair_paths(root, line)?;
    let truths = read_annotation(&annotation_path)?;
    let start = Instant::now();
    let reference = load_luma(&reference_path, options.max_pixels).map_err(|e| e.to_string())?;
    let test = load_luma(&test_path, options.max_pixels).map_err(|e| e.to_string())?;
    let decode = start.elapsed();
    let start = Instant::now();
    let inspection = PreparedReference::new(&reference, options)
        .and_then(|prepared| prepared.inspect(&test, options))
        .map_err(|e| e.to_string())?;
    let analysis = start.elapsed();
    let dets: Vec<Detection> = inspection.defects.iter().map(Detection::from).collect();
    let matches = RULES.map(|rule| greedy(&dets, &truths, rule));
    Ok(PairResult {
        line: line.to_string(),
        group: group_of(line),
        truths,
        dets,
        matches,
        decode,
        analysis,
    })
}

/// Writes the photo-like data set (see the module doc) into `dir`.
fn write_photos(dir: &Path, count: u64, width: u32, height: u32) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let specs: Vec<(String, PhotoSpec)> = (1..=count)
        .flat_map(|seed| {
            [(Tone::LightOnDark, "light"), (Tone::DarkOnLight, "dark")].map(|(tone, name)| {
                let spec = PhotoSpec {
                    width,
                    height,
                    seed,
                    tone,
                };
                (format!("seed{seed}-{name}"), spec)
            })
        })
        .collect();
    let lines = specs
        .par_iter()
        .map(|(stem, spec)| {
            let pair = photo_pair(spec);
            let mut annotation = String::new();
            for d in &pair.defects {
                let class = DEEPPCB_NAMES
                    .iter()
                    .position(|&n| n == d.name)
                    .map_or(0, |i| i + 1);
                let r = d.rect;
                annotation += &format!("{} {} {} {} {class}\n", r.x, r.y, r.right(), r.bottom());
            }
            std::fs::write(
                dir.join(format!("{stem}_temp.jpg")),
                jpeg(&pair.reference, 90),
            )?;
            std::fs::write(dir.join(format!("{stem}_test.jpg")), jpeg(&pair.test, 90))?;
            std::fs::write(dir.join(format!("{stem}.txt")), annotation)?;
            Ok(format!("{stem}.jpg {stem}.txt\n"))
        })
        .collect::<std::io::Result<Vec<String>>>()?;
    std::fs::write(dir.join("list.txt"), lines.concat())
}

/// One line per false call (rule A): the pair's list line, then kind, type,
/// score, area and box `x1 y1 x2 y2`, tab separated, for looking at them;
/// then one per missed truth: the list line, `miss`, its DeepPCB type and
/// box.
fn write_false_calls(path: &Path, results: &[PairResult]) -> std::io::Result<()> {
    let mut text = String::new();
    for r in results {
        for (i, t) in r.truths.iter().enumerate() {
            if !r.matches[0].contains(&Some(i)) {
                let b = t.bbox;
                let (x1, y1, x2, y2) = (b.x1, b.y1, b.x2, b.y2);
                text += &format!("{}\tmiss\t{}\t{x1} {y1} {x2} {y2}\n", r.line, t.class);
            }
        }
        for (d, m) in r.dets.iter().zip(&r.matches[0]) {
            if m.is_none() {
                let b = d.bbox;
                text += &format!(
                    "{}\t{}\t{}\t{:.3}\t{}\t{} {} {} {}\n",
                    r.line,
                    d.kind.name(),
                    d.defect_type.name(),
                    d.score,
                    d.area,
                    b.x1,
                    b.y1,
                    b.x2,
                    b.y2
                );
            }
        }
    }
    std::fs::write(path, text)
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

fn fmt3(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.3}")
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p.is_nan() || r.is_nan() || p + r == 0.0 {
        f64::NAN
    } else {
        2.0 * p * r / (p + r)
    }
}

fn print_detection_metrics(results: &[PairResult]) {
    for (ri, rule) in RULES.iter().enumerate() {
        println!("{}", rule.title());
        println!(
            "  {:<6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>9} {:>7} {:>6}",
            "kind", "gt", "dets", "tp", "fp", "miss", "precision", "recall", "f1"
        );
        let scopes: [(&str, Option<DefectKind>); 3] = [
            ("all", None),
            ("flash", Some(DefectKind::Flash)),
            ("cut", Some(DefectKind::Cut)),
        ];
        for (name, scope) in scopes {
            let in_scope = |k: DefectKind| scope.is_none_or(|s| s == k);
            let (mut gt, mut dets, mut tp) = (0, 0, 0);
            for r in results {
                gt += r
                    .truths
                    .iter()
                    .filter(|t| in_scope(kind_of(t.class)))
                    .count();
                for (d, m) in r.dets.iter().zip(&r.matches[ri]) {
                    if in_scope(d.kind) {
                        dets += 1;
                        tp += usize::from(m.is_some());
                    }
                }
            }
            let (p, rc) = (ratio(tp, dets), ratio(tp, gt));
            println!(
                "  {:<6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>9} {:>7} {:>6}",
                name,
                gt,
                dets,
                tp,
                dets - tp,
                gt - tp,
                fmt3(p),
                fmt3(rc),
                fmt3(f1(p, rc))
            );
        }
        println!();
    }
}

fn row_label(class: u8) -> String {
    format!(
        "{} {}/{}",
        class,
        DEEPPCB_NAMES[usize::from(class - 1)],
        expected_type(class).name()
    )
}

fn print_types(results: &[PairResult]) {
    // Rule A only. gt[c], found[c]: per DeepPCB type; confusion[c][t].
    let mut gt = [0usize; 6];
    let mut found = [0usize; 6];
    let mut confusion = [[0usize; 8]; 6];
    for r in results {
        for t in &r.truths {
            gt[usize::from(t.class - 1)] += 1;
        }
        for (d, m) in r.dets.iter().zip(&r.matches[0]) {
            if let Some(j) = m {
                let c = usize::from(r.truths[*j].class - 1);
                found[c] += 1;
                confusion[c][type_index(d.defect_type)] += 1;
            }
        }
    }

    println!("recall per DeepPCB type (rule A)");
    println!(
        "  {:<28} {:>6} {:>6} {:>7}",
        "type", "gt", "found", "recall"
    );
    for c in 1..=6u8 {
        let i = usize::from(c - 1);
        println!(
            "  {:<28} {:>6} {:>6} {:>7}",
            row_label(c),
            gt[i],
            found[i],
            fmt3(ratio(found[i], gt[i]))
        );
    }
    println!();

    println!(
        "type confusion over matched detections (rule A): rows DeepPCB type, columns our type"
    );
    print!("  {:<28}", "");
    for t in DefectType::ALL {
        print!(" {:>10}", t.name());
    }
    println!(" {:>7} {:>7} {:>9}", "matched", "right", "right/gt");
    let (mut matched_total, mut right_total) = (0, 0);
    for c in 1..=6u8 {
        let i = usize::from(c - 1);
        print!("  {:<28}", row_label(c));
        for n in confusion[i] {
            print!(" {n:>10}");
        }
        let right = confusion[i][type_index(expected_type(c))];
        matched_total += found[i];
        right_total += right;
        println!(
            " {:>7} {:>7} {:>9}",
            found[i],
            right,
            fmt3(ratio(right, gt[i]))
        );
    }
    println!(
        "  type accuracy: {} of {} matched detections = {}",
        right_total,
        matched_total,
        fmt3(ratio(right_total, matched_total))
    );
    println!();
}

/// VOC all-point interpolated average precision of `kind` under rule `ri`.
fn average_precision(results: &[PairResult], ri: usize, kind: DefectKind) -> f64 {
    let gt: usize = results
        .iter()
        .map(|r| r.truths.iter().filter(|t| kind_of(t.class) == kind).count())
        .sum();
    if gt == 0 {
        return f64::NAN;
    }
    let mut ranked: Vec<(f32, bool)> = results
        .iter()
        .flat_map(|r| {
            r.dets
                .iter()
                .zip(&r.matches[ri])
                .filter(|(d, _)| d.kind == kind)
                .map(|(d, m)| (d.score, m.is_some()))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut recall = Vec::with_capacity(ranked.len());
    let mut precision = Vec::with_capacity(ranked.len());
    let mut tp = 0usize;
    for (k, &(_, is_tp)) in ranked.iter().enumerate() {
        tp += usize::from(is_tp);
        recall.push(tp as f64 / gt as f64);
        precision.push(tp as f64 / (k + 1) as f64);
    }
    // Precision envelope: best precision at this recall or beyond.
    for k in (0..precision.len().saturating_sub(1)).rev() {
        precision[k] = precision[k].max(precision[k + 1]);
    }
    let mut ap = 0.0;
    let mut previous_recall = 0.0;
    for (r, p) in recall.iter().zip(&precision) {
        ap += (r - previous_recall) * p;
        previous_recall = *r;
    }
    ap
}

/// Rule A counts over `results` for detections scoring at least `min_score`:
/// (ground truth, true positives, false positives, boards without a false call).
fn counts(results: &[&PairResult], min_score: f32) -> (usize, usize, usize, usize) {
    let (mut gt, mut tp, mut fp, mut clean) = (0, 0, 0, 0);
    for r in results {
        gt += r.truths.len();
        let mut pair_fp = 0;
        for (d, m) in r.dets.iter().zip(&r.matches[0]) {
            if d.score >= min_score {
                if m.is_some() {
                    tp += 1;
                } else {
                    pair_fp += 1;
                }
            }
        }
        fp += pair_fp;
        clean += usize::from(pair_fp == 0);
    }
    (gt, tp, fp, clean)
}

/// False calls per board (pair) and the share of boards with none, per group
/// and overall, under rule A: what an operator reviewing the boards sees.
fn print_false_calls(results: &[PairResult]) {
    let mut groups: Vec<&str> = results.iter().map(|r| r.group.as_str()).collect();
    groups.sort_unstable();
    groups.dedup();
    println!("false calls per board (rule A)");
    println!(
        "  {:<12} {:>6} {:>6} {:>6} {:>6} {:>6} {:>9} {:>7} {:>7} {:>6}",
        "group", "boards", "gt", "tp", "fp", "fp/brd", "no-fp", "prec", "recall", "f1"
    );
    let scopes = groups.iter().map(|&g| (g, Some(g))).chain([("all", None)]);
    for (name, scope) in scopes {
        let subset: Vec<&PairResult> = results
            .iter()
            .filter(|r| scope.is_none_or(|g| r.group == g))
            .collect();
        let (gt, tp, fp, clean) = counts(&subset, f32::MIN);
        let (p, rc) = (ratio(tp, tp + fp), ratio(tp, gt));
        println!(
            "  {:<12} {:>6} {:>6} {:>6} {:>6} {:>6} {:>9} {:>7} {:>7} {:>6}",
            name,
            subset.len(),
            gt,
            tp,
            fp,
            fmt3(ratio(fp, subset.len())),
            fmt3(ratio(clean, subset.len())),
            fmt3(p),
            fmt3(rc),
            fmt3(f1(p, rc))
        );
    }
    println!();
}

/// F1 (rule A) at the `--min-score` that maximises it on these results,
/// beside the default's: how much a score cut-off could buy.
fn print_best_min_score(results: &[PairResult]) {
    let all: Vec<&PairResult> = results.iter().collect();
    let score_f1 = |min_score: f32| {
        let (gt, tp, fp, _) = counts(&all, min_score);
        f1(ratio(tp, tp + fp), ratio(tp, gt))
    };
    let mut scores: Vec<f32> = results
        .iter()
        .flat_map(|r| r.dets.iter().map(|d| d.score))
        .collect();
    scores.sort_by(f32::total_cmp);
    scores.dedup();
    let best = scores
        .iter()
        .map(|&s| (s, score_f1(s)))
        .filter(|(_, v)| !v.is_nan())
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let default = Options::default().min_score;
    print!(
        "  F1 (rule A) at --min-score {default}: {}",
        fmt3(score_f1(default))
    );
    if let Some((s, v)) = best {
        print!(", best {} at --min-score {s:.3}", fmt3(v));
    }
    println!();
}

fn print_average_precision(results: &[PairResult]) {
    println!("average precision from score (VOC all-point)");
    println!("  {:<8} {:>7} {:>7} {:>7}", "", "flash", "cut", "mAP");
    for (ri, rule) in RULES.iter().enumerate() {
        let aps = KINDS.map(|k| average_precision(results, ri, k));
        println!(
            "  {:<8} {:>7} {:>7} {:>7}",
            rule.short(),
            fmt3(aps[0]),
            fmt3(aps[1]),
            fmt3((aps[0] + aps[1]) / 2.0)
        );
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("eval: {e}; {USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some((count, width, height)) = args.photos {
        if let Err(e) = write_photos(&args.root, count, width, height) {
            eprintln!(
                "eval: cannot write photos into {}: {e}",
                args.root.display()
            );
            return ExitCode::from(2);
        }
    }
    let list = match std::fs::read_to_string(&args.list) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("eval: cannot read list {}: {e}", args.list.display());
            return ExitCode::from(2);
        }
    };
    let lines: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(args.limit.unwrap_or(usize::MAX))
        .collect();

    let start = Instant::now();
    let outcomes: Vec<Result<PairResult, String>> = lines
        .par_iter()
        .map(|line| evaluate(&args.root, line, &args.options))
        .collect();
    let wall = start.elapsed();

    let mut results = Vec::with_capacity(outcomes.len());
    let mut errors = 0usize;
    for (line, outcome) in lines.iter().zip(outcomes) {
        match outcome {
            Ok(r) => results.push(r),
            Err(e) => {
                errors += 1;
                eprintln!("eval: error: {line}: {e}");
            }
        }
    }

    let n = results.len();
    let ms_per_pair = |total: Duration| {
        if n == 0 {
            f64::NAN
        } else {
            total.as_secs_f64() * 1000.0 / n as f64
        }
    };
    let decode: Duration = results.iter().map(|r| r.decode).sum();
    let analysis: Duration = results.iter().map(|r| r.analysis).sum();
    let o = &args.options;
    println!(
        "options: align {:?}, tolerance {}, min-area {}",
        o.align, o.tolerance, o.min_area
    );
    println!("  {:<22} {:>10}", "pairs", n);
    println!("  {:<22} {:>10}", "errors", errors);
    println!("  {:<22} {:>10.2}", "wall clock s", wall.as_secs_f64());
    println!(
        "  {:<22} {:>10.1}",
        "pairs/s",
        n as f64 / wall.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    println!("  {:<22} {:>10.2}", "decode ms/pair", ms_per_pair(decode));
    println!(
        "  {:<22} {:>10.2}",
        "analysis ms/pair",
        ms_per_pair(analysis)
    );
    println!();

    print_detection_metrics(&results);
    print_types(&results);
    print_false_calls(&results);
    if let Some(path) = &args.false_calls {
        if let Err(e) = write_false_calls(path, &results) {
            eprintln!("eval: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    print_average_precision(&results);
    print_best_min_score(&results);
    ExitCode::SUCCESS
}
