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
