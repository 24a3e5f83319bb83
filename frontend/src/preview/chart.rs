//! The arithmetic of the plots, kept free of the DOM so it is tested
//! natively: which ticks an axis gets, how their labels read (with SI
//! prefixes for physical units), where a value lands on the canvas, and
//! how a long series is thinned for drawing.

/// "Nice" tick values (1, 2 or 5 times a power of ten apart) covering
/// `[min, max]` with about `target` ticks, and the step between them.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> (Vec<f64>, f64) {
    let (min, max) = padded_range(min, max);
    let raw = (max - min) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    // The candidate closest to the raw step (by ratio) gives the tick
    // count closest to the target.
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .min_by(|a, b| (a / raw).ln().abs().total_cmp(&(b / raw).ln().abs()))
        .unwrap_or(magnitude);
    let first = (min / step).ceil();
    let last = (max / step).floor();
    let ticks = (0..=((last - first) as i64).max(0))
        .map(|i| (first + i as f64) * step)
        // -0.0 prints as "-0".
        .map(|t| if t.abs() < step * 1e-9 { 0.0 } else { t })
        .collect();
    (ticks, step)
}

/// The range an axis shows: the data's range, widened when it is a single
/// value so that the axis has a length.
pub fn padded_range(min: f64, max: f64) -> (f64, f64) {
    if !(min.is_finite() && max.is_finite()) || min > max {
        return (0.0, 1.0);
    }
    if max - min > f64::EPSILON * max.abs().max(min.abs()).max(1e-300) {
        return (min, max);
    }
    let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
    (min - pad, max + pad)
}

/// The axis range extended to whole ticks, so lines never leave the frame.
pub fn axis_range(min: f64, max: f64, target: usize) -> (f64, f64, Vec<f64>, f64) {
    let (ticks, step) = nice_ticks(min, max, target);
    let (min, max) = padded_range(min, max);
    let lo = (min / step).floor() * step;
    let hi = (max / step).ceil() * step;
    let ticks = ticks.into_iter().chain([lo, hi]).collect::<Vec<_>>();
    let mut ticks: Vec<f64> = ticks
        .into_iter()
        .filter(|t| *t >= lo - step * 1e-9 && *t <= hi + step * 1e-9)
        .collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup_by(|a, b| (*a - *b).abs() < step * 1e-9);
    (lo, hi, ticks, step)
}

/// An SI prefix and the factor values are divided by for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiScale {
    pub prefix: &'static str,
    pub factor: f64,
}

const PREFIXES: [(&str, i32); 9] = [
    ("p", -12),
    ("n", -9),
    ("µ", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
];

impl SiScale {
    /// The prefix that writes `largest` (the largest magnitude on an axis)
    /// with one to three digits before the point.
    pub fn for_magnitude(largest: f64) -> SiScale {
        let exponent = if largest > 0.0 && largest.is_finite() {
            (largest.log10() + 1e-9).floor() as i32
        } else {
            0
        };
        let (prefix, power) = PREFIXES
            .iter()
            .rev()
            .find(|(_, power)| *power <= exponent)
            .copied()
            .unwrap_or(PREFIXES[0]);
        SiScale {
            prefix,
            factor: 10f64.powi(power),
        }
    }
}

/// How many decimals tick labels `step` apart need.
pub fn decimals_for(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    (-(step.log10() + 1e-9).floor()).clamp(0.0, 12.0) as usize
}

/// A tick label: `value` in `scale`, with the decimals its step needs.
pub fn tick_label(value: f64, step: f64, scale: SiScale) -> String {
    let decimals = decimals_for(step / scale.factor);
    format!("{:.*}", decimals, value / scale.factor)
}

/// A label for a plain (unitless) axis: fixed decimals for ordinary
/// magnitudes, exponent notation for very large or small ones.
pub fn plain_tick_label(value: f64, step: f64) -> String {
    let magnitude = value.abs().max(step.abs());
    if magnitude != 0.0 && !(1e-4..1e6).contains(&magnitude) {
        return format!("{value:.1e}");
    }
    format!("{:.*}", decimals_for(step), value)
}

/// A value written for people: up to `digits` significant digits, without
/// trailing zeros, in exponent notation when very large or small.
pub fn readable(value: f64, digits: usize) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-4..9).contains(&magnitude) {
        return format!("{:.*e}", digits.saturating_sub(1), value);
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A linear map from data values to canvas coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Scale {
    pub fn map(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            return (r0 + r1) / 2.0;
        }
        r0 + (value - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// At most about `max_points` points of a series for drawing: the series is
/// cut into buckets along x and each keeps its first, lowest, highest and
/// last point, so spikes survive the thinning.
pub fn thin(xs: &[f64], ys: &[f64], max_points: usize) -> Vec<(f64, f64)> {
    let n = xs.len().min(ys.len());
    if n <= max_points || max_points < 4 {
        return xs.iter().copied().zip(ys.iter().copied()).take(n).collect();
    }
    let buckets = max_points / 4;
    let mut out = Vec::with_capacity(buckets * 4);
    for b in 0..buckets {
        let start = b * n / buckets;
        let end = ((b + 1) * n / buckets).max(start + 1).min(n);
        let mut low = start;
        let mut high = start;
        for i in start..end {
            if ys[i] < ys[low] {
                low = i;
            }
            if ys[i] > ys[high] {
                high = i;
            }
        }
        let mut picks = [start, low, high, end - 1];
        picks.sort_unstable();
        let mut last = usize::MAX;
        for i in picks {
            if i != last {
                out.push((xs[i], ys[i]));
                last = i;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_inside_the_range() {
        let (ticks, step) = nice_ticks(0.0, 5e-3, 5);
        assert_eq!(step, 1e-3);
        assert_eq!(ticks.len(), 6);
        assert!((ticks[5] - 5e-3).abs() < 1e-15);
        let (ticks, step) = nice_ticks(-1.137, -0.2, 4);
        assert_eq!(step, 0.2);
        assert!(
            ticks.iter().all(|t| (-1.137..=-0.2).contains(t)),
            "{ticks:?}"
        );
        let (ticks, _) = nice_ticks(3.0, 3.0, 5);
        assert!(ticks.contains(&3.0), "{ticks:?}");
    }

    #[test]
    fn axis_ranges_end_on_ticks() {
        let (lo, hi, ticks, step) = axis_range(0.03, 0.97, 5);
        assert_eq!((lo, hi, step), (0.0, 1.0, 0.2));
        assert_eq!(ticks.first(), Some(&0.0));
        assert_eq!(ticks.last(), Some(&1.0));
    }

    #[test]
    fn si_prefixes_fit_the_magnitude() {
        assert_eq!(SiScale::for_magnitude(5e-3).prefix, "m");
        assert_eq!(SiScale::for_magnitude(1.0).prefix, "");
        assert_eq!(SiScale::for_magnitude(4.2e-7).prefix, "n");
        assert_eq!(SiScale::for_magnitude(2.5e-5).prefix, "µ");
        assert_eq!(SiScale::for_magnitude(0.0).prefix, "");
        let ms = SiScale::for_magnitude(5e-3);
        assert_eq!(tick_label(2e-3, 1e-3, ms), "2");
        assert_eq!(tick_label(2.5e-3, 5e-4, ms), "2.5");
    }

    #[test]
    fn labels_read_well() {
        assert_eq!(plain_tick_label(-1.2, 0.2), "-1.2");
        assert_eq!(plain_tick_label(150.0, 50.0), "150");
        assert_eq!(plain_tick_label(2e7, 1e7), "2.0e7");
        assert_eq!(readable(-1.1373060357534, 7), "-1.137306");
        assert_eq!(readable(0.5, 4), "0.5");
        assert_eq!(readable(1.5e-9, 3), "1.50e-9");
    }

    #[test]
    fn scales_map_linearly() {
        let scale = Scale {
            domain: (0.0, 10.0),
            range: (200.0, 0.0),
        };
        assert_eq!(scale.map(0.0), 200.0);
        assert_eq!(scale.map(2.5), 150.0);
    }

    #[test]
    fn thinning_keeps_extremes() {
        let xs: Vec<f64> = (0..10_000).map(f64::from).collect();
        let mut ys = vec![0.0; 10_000];
        ys[5_123] = 9.0;
        ys[7_777] = -4.0;
        let points = thin(&xs, &ys, 400);
        assert!(points.len() <= 400);
        assert!(points.contains(&(5_123.0, 9.0)));
        assert!(points.contains(&(7_777.0, -4.0)));
        assert!(points.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(thin(&xs[..10], &ys[..10], 400).len(), 10);
    }
}
