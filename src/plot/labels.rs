//! Where the phase labels of a chart go (docs/phases.md, "In the chart"):
//! each label starts just right of its boundary, on one row above the plot,
//! and no two labels' boxes meet. When they would, labels are thinned, not
//! rotated: they are placed from the highest peak down, each only where it
//! touches no label placed before it, so the phases that used the memory
//! keep their names. Among equal peaks the earlier goes first: then the
//! thinning is left to right and keeps the first label. (Keeping the first
//! label always would name the wrong band: the rows before a job's first
//! mark are often a phase of a few milliseconds, whose label would hide
//! the next one's.)
//! A label too long for the room left before the right edge is cut, with an
//! ellipsis, or left out.
//!
//! The boxes come from an estimate of the text's width, since the chart
//! does not know the viewer's font: each character counts as a share of the
//! font size, generous for the wide sans-serif fonts (DejaVu Sans), so that
//! labels stay apart in narrower ones too.
//!
//! The chart's own peak text is placed here too ([`peak_text`]): beside its
//! dot, clear of the phases' peak bars, by the same width estimate.

/// The gap between a boundary and the start of its label, in pixels.
pub(super) const PAD: f64 = 3.0;

/// The least room between two labels, in pixels.
pub(super) const GAP: f64 = 6.0;

/// The least room between two unlabelled boundaries' lines, in pixels.
const LINE_GAP: f64 = 8.0;

/// The shortest a cut label may be, in characters before its ellipsis.
const MIN_CHARS: usize = 3;

/// A character's width as a share of the font size.
fn char_em(c: char) -> f64 {
    match c {
        ' ' | '!' | '\'' | '(' | ')' | ',' | '-' | '.' | '/' | ':' | ';' | 'I' | '[' | '\\'
        | ']' | '`' | 'f' | 'i' | 'j' | 'l' | 'r' | 't' | '|' => 0.45,
        'm' | 'w' | 'M' | 'W' | '@' | '%' | '&' | '#' | '=' | '+' | '~' | '<' | '>' | '^' => 1.0,
        'A'..='Z' => 0.8,
        _ if c.is_ascii() => 0.7,
        // CJK and the like are a full em; accented letters less.
        _ => 1.0,
    }
}

/// The estimated width of `text`, in pixels, at `size` pixels (the SVG
/// `font-size`).
pub(crate) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().map(char_em).sum::<f64>() * size
}

/// A label to place: its boundary's x in pixels, its text, and its rank
/// (a phase's peak: the higher, the sooner it is placed).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) x: f64,
    pub(crate) text: String,
    pub(crate) rank: u64,
}

/// A label placed: which candidate, where its text starts, the text as
/// drawn (cut or not) and its estimated width.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub(crate) index: usize,
    pub(crate) x: f64,
    pub(crate) text: String,
    pub(crate) width: f64,
}

/// Places the labels that fit at `size` pixels, none past `right`; the
/// placed ones in the candidates' order.
pub(crate) fn place(candidates: &[Candidate], size: f64, right: f64) -> Vec<Placed> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    // A stable sort: among equal ranks, in order.
    order.sort_by(|&a, &b| candidates[b].rank.cmp(&candidates[a].rank));
    // Kept boxes, by start: they never overlap, so a new box need only be
    // checked against its neighbours in this order.
    let mut kept: Vec<(f64, f64)> = Vec::new();
    let mut placed = Vec::new();
    for index in order {
        let Some(candidate) = candidates.get(index) else {
            continue;
        };
        let start = candidate.x + PAD;
        let Some(text) = fit(&candidate.text, right - start, size) else {
            continue;
        };
        let width = text_width(&text, size);
        let end = start + width;
        let at = kept.partition_point(|&(kept_start, _)| kept_start < start);
        let clear_before = at == 0 || kept.get(at - 1).is_some_and(|&(_, e)| e + GAP <= start);
        let clear_after = kept.get(at).is_none_or(|&(s, _)| end + GAP <= s);
        if clear_before && clear_after {
            kept.insert(at, (start, end));
            placed.push(Placed {
                index,
                x: start,
                text,
                width,
            });
        }
    }
    placed.sort_by_key(|label| label.index);
    placed
}

/// `text` cut to `chars` characters in its middle, with an ellipsis: a
/// test's name (`test:path::name`) keeps its start and its own name.
pub(crate) fn shortened(text: &str, chars: usize) -> String {
    let count = text.chars().count();
    if count <= chars {
        return text.to_owned();
    }
    let head = chars.saturating_sub(1) / 3;
    let tail = chars.saturating_sub(1) - head;
    let mut cut: String = text.chars().take(head).collect();
    cut.push('…');
    cut.extend(text.chars().skip(count - tail));
    cut
}

/// The boundaries that get a line: every labelled one, and the others
/// at least [`LINE_GAP`] pixels right of the line before them, so that
/// hundreds of phases do not grey the whole plot (their bands still show
/// every one).
pub(crate) fn lines(xs: &[f64], labelled: &[bool]) -> Vec<bool> {
    let mut last = f64::NEG_INFINITY;
    xs.iter()
        .zip(labelled)
        .map(|(&x, &labelled)| {
            let drawn = labelled || x - last >= LINE_GAP;
            if drawn {
                last = x;
            }
            drawn
        })
        .collect()
}

/// `text` as it fits in `room` pixels: whole, or cut with an ellipsis to
/// no fewer than [`MIN_CHARS`] characters; `None` when even that is too
/// wide (a name that short is shown whole or not at all).
fn fit(text: &str, room: f64, size: f64) -> Option<String> {
    if text_width(text, size) <= room {
        return Some(text.to_owned());
    }
    let mut width = text_width("…", size);
    let mut cut = String::new();
    for c in text.chars() {
        if width + char_em(c) * size > room {
            break;
        }
        width += char_em(c) * size;
        cut.push(c);
    }
    // A name already cut in its middle ends where it was cut: one
    // ellipsis, not two.
    let cut = cut.split('…').next().unwrap_or_default();
    (cut.chars().count() >= MIN_CHARS).then(|| format!("{cut}…"))
}

/// A box in pixels, y down: the estimate of a text's, or a peak bar's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub(crate) left: f64,
    pub(crate) top: f64,
    pub(crate) right: f64,
    pub(crate) bottom: f64,
}

impl Rect {
    /// Whether the two boxes share more than an edge.
    pub(crate) fn meets(&self, other: &Rect) -> bool {
        self.left < other.right
            && other.left < self.right
            && self.top < other.bottom
            && other.top < self.bottom
    }

    /// Whether this box lies wholly inside `outer`.
    fn inside(&self, outer: &Rect) -> bool {
        self.left >= outer.left
            && self.right <= outer.right
            && self.top >= outer.top
            && self.bottom <= outer.bottom
    }
}

/// The gap between the peak's dot and its text, in pixels, across and up
/// or down.
pub(crate) const PEAK_GAP: f64 = 8.0;

/// Where the text of the chart's peak goes (docs/phases.md, "In the
/// chart"): the box of `size` (width, height) beside the peak's dot at
/// `point`, above it on the side with more room (`left` when the dot is
/// in the right half), else above on the other side, else below on each
/// side in the same order; the first that meets none of the phases' peak
/// `bars` and stays inside the `plot`. When none does (a crowded chart),
/// the first inside the plot, and failing that the first.
pub(crate) fn peak_text(
    point: (f64, f64),
    size: (f64, f64),
    left: bool,
    bars: &[Rect],
    plot: &Rect,
) -> Rect {
    let (x, y) = point;
    let (width, height) = size;
    let side = |left: bool| {
        if left {
            (x - PEAK_GAP - width, x - PEAK_GAP)
        } else {
            (x + PEAK_GAP, x + PEAK_GAP + width)
        }
    };
    let above = (y - PEAK_GAP - height, y - PEAK_GAP);
    let below = (y + PEAK_GAP, y + PEAK_GAP + height);
    let order = [(above, left), (above, !left), (below, left), (below, !left)];
    let boxes = order.map(|((top, bottom), left)| {
        let (left, right) = side(left);
        Rect {
            left,
            top,
            right,
            bottom,
        }
    });
    let clear = |candidate: &&Rect| !bars.iter().any(|bar| bar.meets(candidate));
    boxes
        .iter()
        .filter(|candidate| candidate.inside(plot))
        .find(clear)
        .or_else(|| boxes.iter().find(|candidate| candidate.inside(plot)))
        .copied()
        .unwrap_or(boxes[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SIZE: f64 = 10.0;

    fn candidate(x: f64, text: &str, rank: u64) -> Candidate {
        Candidate {
            x,
            text: text.into(),
            rank,
        }
    }

    fn rect(left: f64, top: f64, right: f64, bottom: f64) -> Rect {
        Rect {
            left,
            top,
            right,
            bottom,
        }
    }

    #[test]
    fn the_peak_text_avoids_the_bars() {
        let plot = rect(0.0, 0.0, 1000.0, 500.0);
        let size = (100.0, 13.0);
        // Nothing in the way: above, on the side asked for.
        let free = peak_text((500.0, 100.0), size, false, &[], &plot);
        assert_eq!(free, rect(508.0, 79.0, 608.0, 92.0));
        let free = peak_text((500.0, 100.0), size, true, &[], &plot);
        assert_eq!(free, rect(392.0, 79.0, 492.0, 92.0));
        // A bar 10 px above the dot, right of it: above-left.
        let right_bar = rect(495.0, 88.0, 700.0, 92.0);
        let got = peak_text((500.0, 100.0), size, false, &[right_bar], &plot);
        assert_eq!(got, rect(392.0, 79.0, 492.0, 92.0));
        // Bars above on both sides: below, right first.
        let wide_bar = rect(300.0, 85.0, 700.0, 89.0);
        let got = peak_text((500.0, 100.0), size, false, &[wide_bar], &plot);
        assert_eq!(got, rect(508.0, 108.0, 608.0, 121.0));
        // ... and below-left when a bar lies below right too.
        let low_bar = rect(505.0, 110.0, 700.0, 114.0);
        let got = peak_text((500.0, 100.0), size, false, &[wide_bar, low_bar], &plot);
        assert_eq!(got, rect(392.0, 108.0, 492.0, 121.0));
        // At the right edge: never outside the plot, even where that side
        // was asked for and is clear.
        let got = peak_text((950.0, 100.0), size, false, &[], &plot);
        assert_eq!(got, rect(842.0, 79.0, 942.0, 92.0));
        // At the top: below.
        let got = peak_text((500.0, 15.0), size, false, &[], &plot);
        assert_eq!(got, rect(508.0, 23.0, 608.0, 36.0));
        // No clear place: the first inside the plot.
        let all = rect(0.0, 0.0, 1000.0, 500.0);
        let got = peak_text((500.0, 100.0), size, true, &[all], &plot);
        assert_eq!(got, rect(392.0, 79.0, 492.0, 92.0));
    }

    #[test]
    fn boxes_meet_only_when_they_overlap() {
        let a = rect(0.0, 0.0, 10.0, 10.0);
        assert!(a.meets(&rect(5.0, 5.0, 15.0, 15.0)));
        assert!(!a.meets(&rect(10.0, 0.0, 20.0, 10.0)));
        assert!(!a.meets(&rect(0.0, 11.0, 10.0, 20.0)));
    }

    #[test]
    fn widths_are_per_character() {
        assert_eq!(text_width("", SIZE), 0.0);
        assert!((text_width("il", SIZE) - 9.0).abs() < 1e-9);
        assert!((text_width("WM", SIZE) - 20.0).abs() < 1e-9);
        assert!((text_width("ab", SIZE) - 14.0).abs() < 1e-9);
        assert!((text_width("Ab", SIZE) - 15.0).abs() < 1e-9);
        assert!((text_width("日本", SIZE) - 20.0).abs() < 1e-9);
    }

    #[test]
    fn labels_with_room_are_all_kept_in_order() {
        let got = place(
            &[candidate(0.0, "load", 5), candidate(100.0, "train", 9)],
            SIZE,
            500.0,
        );
        let kept: Vec<(usize, f64, &str)> = got
            .iter()
            .map(|l| (l.index, l.x, l.text.as_str()))
            .collect();
        assert_eq!(kept, [(0, PAD, "load"), (1, 100.0 + PAD, "train")]);
    }

    #[test]
    fn crowded_labels_keep_the_highest_peaks() {
        // Labels about 30 px wide, closer than that: the ranks choose.
        let got = place(
            &[
                candidate(0.0, "aaaa", 1),
                candidate(10.0, "bbbb", 50),
                candidate(45.0, "cccc", 100),
                candidate(55.0, "dddd", 2),
            ],
            SIZE,
            500.0,
        );
        let kept: Vec<&str> = got.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(kept, ["bbbb", "cccc"]);
    }

    #[test]
    fn equal_peaks_thin_left_to_right_from_the_first() {
        let crowded: Vec<Candidate> = (0..10)
            .map(|k| candidate(f64::from(k) * 10.0, "aaaa", 7))
            .collect();
        let got = place(&crowded, SIZE, 500.0);
        let kept: Vec<usize> = got.iter().map(|l| l.index).collect();
        // Each 28 px wide, 6 px apart at least: every fourth boundary.
        assert_eq!(kept, [0, 4, 8]);
    }

    #[test]
    fn a_label_at_the_right_edge_is_cut_or_left_out() {
        let got = place(&[candidate(0.0, "training", 1)], SIZE, 40.0);
        assert_eq!(got[0].text, "trai…");
        assert!(got[0].x + got[0].width <= 40.0);
        assert!(place(&[candidate(0.0, "training", 1)], SIZE, 20.0).is_empty());
        // A cut name keeps at least 3 characters.
        assert_eq!(fit("WWWWW", 45.0, SIZE).as_deref(), Some("WWW…"));
        assert_eq!(fit("WWWWW", 35.0, SIZE), None);
        // Never two ellipses in a row.
        assert_eq!(fit("abc…xyz", 50.0, SIZE).as_deref(), Some("abc…"));
        assert_eq!(fit("abc…xyz", 30.0, SIZE), None);
    }

    #[test]
    fn long_names_are_cut_in_the_middle() {
        assert_eq!(shortened("load", 10), "load");
        assert_eq!(
            shortened("test:tests/test_mod.py::test_case_042", 24),
            "test:te…y::test_case_042"
        );
        assert_eq!(
            shortened("test:tests/test_mod.py::test_case_042", 24)
                .chars()
                .count(),
            24
        );
    }

    #[test]
    fn close_unlabelled_boundaries_share_a_line() {
        let xs = [0.0, 2.0, 4.0, 7.0, 8.0, 30.0];
        let labelled = [true, false, false, false, true, false];
        assert_eq!(
            lines(&xs, &labelled),
            [true, false, false, false, true, true]
        );
        assert_eq!(lines(&[0.0, 8.0], &[false, false]), [true, true]);
    }

    /// Boundaries: sorted x in pixels, a text and a rank each.
    fn boundaries() -> impl Strategy<Value = Vec<Candidate>> {
        prop::collection::vec(
            (0.0..900.0f64, "[a-zA-Z0-9 _:/<&日]{0,30}", 0..1000u64),
            1..300,
        )
        .prop_map(|mut list| {
            list.sort_by(|a, b| a.0.total_cmp(&b.0));
            list.into_iter()
                .map(|(x, text, rank)| Candidate { x, text, rank })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn kept_labels_never_overlap(candidates in boundaries(), size in 8.0..16.0f64) {
            let right = 900.0;
            let placed = place(&candidates, size, right);
            for label in &placed {
                let candidate = &candidates[label.index];
                // Attached to its boundary, inside the chart, as wide as its text.
                prop_assert_eq!(label.x, candidate.x + PAD);
                prop_assert!(label.x + label.width <= right + 1e-9);
                prop_assert!((label.width - text_width(&label.text, size)).abs() < 1e-9);
                prop_assert!(label.text == candidate.text || label.text.ends_with('…'));
            }
            for (i, a) in placed.iter().enumerate() {
                for b in &placed[i + 1..] {
                    let apart = a.x + a.width + GAP <= b.x || b.x + b.width + GAP <= a.x;
                    prop_assert!(apart, "{a:?} meets {b:?}");
                }
            }
            // The highest peak's label (the first of them) is kept
            // whenever it fits alone.
            let top = candidates.iter().map(|c| c.rank).max().unwrap_or(0);
            let first_top = candidates.iter().position(|c| c.rank == top).unwrap_or(0);
            let top_fits = fit(&candidates[first_top].text, right - candidates[first_top].x - PAD, size);
            if top_fits.is_some() {
                prop_assert!(placed.iter().any(|l| l.index == first_top));
            }
        }

        #[test]
        fn with_equal_peaks_thinning_keeps_the_first_label(
            candidates in boundaries(),
        ) {
            let equal: Vec<Candidate> = candidates
                .into_iter()
                .map(|c| Candidate { rank: 1, ..c })
                .collect();
            let placed = place(&equal, SIZE, 900.0);
            if fit(&equal[0].text, 900.0 - equal[0].x - PAD, SIZE).is_some() {
                prop_assert_eq!(placed.first().map(|l| l.index), Some(0));
            }
        }

        #[test]
        fn only_labels_that_would_meet_a_kept_one_are_dropped(candidates in boundaries()) {
            let right = 900.0;
            let placed = place(&candidates, SIZE, right);
            let kept: std::collections::HashSet<usize> = placed.iter().map(|l| l.index).collect();
            for (index, candidate) in candidates.iter().enumerate() {
                let start = candidate.x + PAD;
                let Some(text) = fit(&candidate.text, right - start, SIZE) else {
                    continue;
                };
                if kept.contains(&index) {
                    continue;
                }
                let end = start + text_width(&text, SIZE);
                let meets = placed
                    .iter()
                    .any(|l| !(l.x + l.width + GAP <= start || end + GAP <= l.x));
                prop_assert!(meets, "{candidate:?} dropped with room for it");
            }
        }
    }
}
