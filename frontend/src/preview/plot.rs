//! Line charts in SVG: the `line-plot` spec, circuit waveforms (time on an
//! SI-prefixed axis, volts on the left, amperes on the right) and plain
//! number series such as an optimiser's convergence.

use serde_json::Value;
use sycamore::prelude::*;

use super::chart::{Scale, SiScale, axis_range, plain_tick_label, readable, thin, tick_label};

/// Most series and points a plot accepts (`docs/skills.md`).
pub const MAX_SERIES: usize = 100;
pub const MAX_POINTS: usize = 100_000;

/// Points drawn per series; longer series are thinned (`chart::thin`).
const DRAWN_POINTS: usize = 1_200;

/// Line colours, chosen to stay apart from each other on white.
pub const PALETTE: [&str; 8] = [
    "#3a6ff7", "#e0663a", "#1f9d6b", "#a34fd1", "#d4a11e", "#2aa4c9", "#c2386f", "#6b7a8f",
];

const WIDTH: f64 = 340.0;
const HEIGHT: f64 = 210.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 36.0;
const LEFT: f64 = 50.0;
const RIGHT_PLAIN: f64 = 12.0;
const RIGHT_AXIS: f64 = 50.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub side: Side,
}

/// How an axis writes its values.
#[derive(Debug, Clone, PartialEq)]
pub enum Units {
    /// Plain numbers.
    Plain,
    /// A physical unit written with SI prefixes ("s", "V", "A").
    Si(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub label: String,
    pub units: Units,
}

/// Everything one chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x: Axis,
    pub left: Axis,
    /// Present when some series use the right-hand axis.
    pub right: Option<Axis>,
    pub series: Vec<Series>,
}

fn numbers(value: &Value, what: &str) -> Result<Vec<f64>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("{what} is not an array"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("{what}[{i}] is not a finite number"))
        })
        .collect()
}

fn text_field(object: &serde_json::Map<String, Value>, key: &str) -> Result<String, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

fn check_sizes(series: &[Series]) -> Result<(), String> {
    if series.len() > MAX_SERIES {
        return Err(format!(
            "{} series; a plot shows at most {MAX_SERIES}",
            series.len()
        ));
    }
    let points: usize = series.iter().map(|s| s.xs.len()).sum();
    if points > MAX_POINTS {
        return Err(format!(
            "{points} points; a plot shows at most {MAX_POINTS}"
        ));
    }
    Ok(())
}

/// The `{"type": "line-plot", …}` spec of `docs/skills.md`.
pub fn line_plot(value: &Value) -> Result<Chart, String> {
    let object = value.as_object().ok_or("a line plot must be an object")?;
    let list = object
        .get("series")
        .and_then(Value::as_array)
        .ok_or("a line plot needs a `series` array")?;
    if list.len() > MAX_SERIES {
        return Err(format!(
            "{} series; a plot shows at most {MAX_SERIES}",
            list.len()
        ));
    }
    let mut series = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let entry = item
            .as_object()
            .ok_or_else(|| format!("series[{i}] is not an object"))?;
        let name = text_field(entry, "name")?;
        let xs = numbers(
            entry.get("x").unwrap_or(&Value::Null),
            &format!("series[{i}].x"),
        )?;
        let ys = numbers(
            entry.get("y").unwrap_or(&Value::Null),
            &format!("series[{i}].y"),
        )?;
        if xs.len() != ys.len() {
            return Err(format!(
                "series[{i}] has {} x values and {} y values",
                xs.len(),
                ys.len()
            ));
        }
        series.push(Series {
            name,
            xs,
            ys,
            side: Side::Left,
        });
    }
    check_sizes(&series)?;
    Ok(Chart {
        title: text_field(object, "title")?,
        x: Axis {
            label: text_field(object, "x_label")?,
            units: Units::Plain,
        },
        left: Axis {
            label: text_field(object, "y_label")?,
            units: Units::Plain,
        },
        right: None,
        series,
    })
}

/// A `waveform` value: `{time: [...], signals: {name: [...]}}`.
pub fn waveform(value: &Value) -> Result<Chart, String> {
    let object = value.as_object().ok_or("a waveform must be an object")?;
    let time = numbers(object.get("time").unwrap_or(&Value::Null), "time")?;
    if time.windows(2).any(|w| w[1] < w[0]) {
        return Err("time is not ascending".into());
    }
    let signals = object
        .get("signals")
        .and_then(Value::as_object)
        .ok_or("a waveform needs a `signals` object")?;
    let mut series = Vec::with_capacity(signals.len());
    for (name, values) in signals {
        let ys = numbers(values, &format!("signal {name}"))?;
        if ys.len() != time.len() {
            return Err(format!(
                "signal {name} has {} values for {} times",
                ys.len(),
                time.len()
            ));
        }
        let side = if name.to_ascii_lowercase().starts_with("i(") {
            Side::Right
        } else {
            Side::Left
        };
        series.push(Series {
            name: name.clone(),
            xs: time.clone(),
            ys,
            side,
        });
    }
    check_sizes(&series)?;
    let has_voltages = series.iter().any(|s| s.side == Side::Left);
    let has_currents = series.iter().any(|s| s.side == Side::Right);
    // Only currents: draw them on the left axis.
    if has_currents && !has_voltages {
        for s in &mut series {
            s.side = Side::Left;
        }
    }
    let current_axis = Axis {
        label: "current".into(),
        units: Units::Si("A"),
    };
    Ok(Chart {
        title: String::new(),
        x: Axis {
            label: "time".into(),
            units: Units::Si("s"),
        },
        left: if has_voltages || !has_currents {
            Axis {
                label: "voltage".into(),
                units: Units::Si("V"),
            }
        } else {
            current_axis.clone()
        },
        right: (has_currents && has_voltages).then_some(current_axis),
        series,
    })
}

/// A plain array of numbers drawn against its index ("step").
pub fn number_series(values: &[f64], name: &str) -> Result<Chart, String> {
    let series = vec![Series {
        name: name.to_owned(),
        xs: (0..values.len()).map(|i| i as f64).collect(),
        ys: values.to_vec(),
        side: Side::Left,
    }];
    check_sizes(&series)?;
    Ok(Chart {
        title: String::new(),
        x: Axis {
            label: "step".into(),
            units: Units::Plain,
        },
        left: Axis {
            label: String::new(),
            units: Units::Plain,
        },
        right: None,
        series,
    })
}

/// An axis ready to draw: its range, ticks and their labels, and the title
/// that names the unit with its prefix ("time (ms)").
struct Ticked {
    scale: Scale,
    ticks: Vec<(f64, String)>,
    title: String,
}

fn ticked(
    axis: &Axis,
    values: impl Iterator<Item = f64> + Clone,
    range: (f64, f64),
    target: usize,
) -> Ticked {
    let min = values.clone().fold(f64::INFINITY, f64::min);
    let max = values.fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi, ticks, step) = axis_range(min, max, target);
    let (labels, title) = match axis.units {
        Units::Plain => (
            ticks
                .iter()
                .map(|t| (*t, plain_tick_label(*t, step)))
                .collect(),
            axis.label.clone(),
        ),
        Units::Si(unit) => {
            let scale = SiScale::for_magnitude(lo.abs().max(hi.abs()));
            let labels = ticks
                .iter()
                .map(|t| (*t, tick_label(*t, step, scale)))
                .collect();
            let unit = format!("{}{unit}", scale.prefix);
            let title = if axis.label.is_empty() {
                unit
            } else {
                format!("{} ({unit})", axis.label)
            };
            (labels, title)
        }
    };
    Ticked {
        scale: Scale {
            domain: (lo, hi),
            range,
        },
        ticks: labels,
        title,
    }
}

fn path_for(points: &[(f64, f64)], x: Scale, y: Scale) -> String {
    let mut d = String::with_capacity(points.len() * 14);
    for (i, (px, py)) in points.iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        d.push_str(&format!("{cmd}{:.1},{:.1}", x.map(*px), y.map(*py)));
    }
    d
}

/// A chart as SVG, with a legend below it when it has several series.
#[component(inline_props)]
pub fn ChartView(chart: Chart) -> View {
    let right_margin = if chart.right.is_some() {
        RIGHT_AXIS
    } else {
        RIGHT_PLAIN
    };
    let plot_left = LEFT;
    let plot_right = WIDTH - right_margin;
    let plot_top = TOP + if chart.title.is_empty() { 0.0 } else { 14.0 };
    let plot_bottom = HEIGHT - BOTTOM;

    let xs = chart.series.iter().flat_map(|s| s.xs.iter().copied());
    let x_axis = ticked(&chart.x, xs, (plot_left, plot_right), 5);
    let left_values = chart
        .series
        .iter()
        .filter(|s| s.side == Side::Left)
        .flat_map(|s| s.ys.iter().copied());
    let left_axis = ticked(&chart.left, left_values, (plot_bottom, plot_top), 5);
    let right_axis = chart.right.as_ref().map(|axis| {
        let values = chart
            .series
            .iter()
            .filter(|s| s.side == Side::Right)
            .flat_map(|s| s.ys.iter().copied());
        ticked(axis, values, (plot_bottom, plot_top), 5)
    });

    let mut parts: Vec<View> = Vec::new();
    let top = format!("{plot_top:.1}");
    let bottom = format!("{plot_bottom:.1}");
    let left = format!("{plot_left:.1}");
    let right = format!("{plot_right:.1}");
    // Grid and x ticks.
    for (value, label) in &x_axis.ticks {
        let px = format!("{:.1}", x_axis.scale.map(*value));
        parts.push(grid_line(&px, &px, &top, &bottom));
        parts.push(svg_text(
            "tick",
            &px,
            &format!("{:.1}", plot_bottom + 13.0),
            "middle",
            None,
            label,
        ));
    }
    for (value, label) in &left_axis.ticks {
        let py = format!("{:.1}", left_axis.scale.map(*value));
        parts.push(grid_line(&left, &right, &py, &py));
        parts.push(svg_text(
            "tick",
            &format!("{:.1}", plot_left - 5.0),
            &py,
            "end",
            None,
            label,
        ));
    }
    if let Some(axis) = &right_axis {
        for (value, label) in &axis.ticks {
            let py = format!("{:.1}", axis.scale.map(*value));
            parts.push(svg_text(
                "tick",
                &format!("{:.1}", plot_right + 5.0),
                &py,
                "start",
                None,
                label,
            ));
        }
    }
    // Frame and axis titles.
    let frame = format!(
        "M{plot_left},{plot_top}V{plot_bottom}H{plot_right}{}",
        if right_axis.is_some() {
            format!("V{plot_top}")
        } else {
            String::new()
        }
    );
    parts.push(view! { path(class="frame", d=frame) });
    let middle = (plot_top + plot_bottom) / 2.0;
    parts.push(svg_text(
        "axis-title",
        &format!("{:.1}", (plot_left + plot_right) / 2.0),
        &format!("{:.1}", HEIGHT - 6.0),
        "middle",
        None,
        &x_axis.title,
    ));
    parts.push(svg_text(
        "axis-title",
        "0",
        "0",
        "middle",
        Some(format!("translate(11 {middle:.1}) rotate(-90)")),
        &left_axis.title,
    ));
    if let Some(axis) = &right_axis {
        parts.push(svg_text(
            "axis-title",
            "0",
            "0",
            "middle",
            Some(format!(
                "translate({:.1} {middle:.1}) rotate(90)",
                WIDTH - 9.0
            )),
            &axis.title,
        ));
    }
    if !chart.title.is_empty() {
        parts.push(svg_text(
            "chart-title",
            &format!("{:.1}", WIDTH / 2.0),
            "12",
            "middle",
            None,
            &chart.title,
        ));
    }
    // The lines.
    for (i, series) in chart.series.iter().enumerate() {
        let y = match (series.side, &right_axis) {
            (Side::Right, Some(axis)) => axis.scale,
            _ => left_axis.scale,
        };
        let points = thin(&series.xs, &series.ys, DRAWN_POINTS);
        let colour = PALETTE[i % PALETTE.len()];
        if points.len() == 1 {
            let cx = format!("{:.1}", x_axis.scale.map(points[0].0));
            let cy = format!("{:.1}", y.map(points[0].1));
            parts.push(view! { circle(cx=cx, cy=cy, r="2.5", fill=colour) });
        } else {
            let d = path_for(&points, x_axis.scale, y);
            parts.push(view! { path(class="series", d=d, stroke=colour) });
        }
    }

    let legend = if chart.series.len() > 1 {
        let items: Vec<View> = chart
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let colour = format!("background:{}", PALETTE[i % PALETTE.len()]);
                let name = s.name.clone();
                view! { span(class="legend-item") { span(class="swatch", style=colour) (name) } }
            })
            .collect();
        view! { figcaption(class="legend") { (items) } }
    } else {
        view! {}
    };
    let summary = chart_summary(&chart);
    let view_box = format!("0 0 {WIDTH} {HEIGHT}");
    view! {
        figure(class="chart") {
            svg(viewBox=view_box, xmlns="http://www.w3.org/2000/svg") {
                svg_title { (summary) }
                (parts)
            }
            (legend)
        }
    }
}

fn grid_line(x1: &str, x2: &str, y1: &str, y2: &str) -> View {
    let (x1, x2, y1, y2) = (x1.to_owned(), x2.to_owned(), y1.to_owned(), y2.to_owned());
    view! { line(class="grid", x1=x1, x2=x2, y1=y1, y2=y2) }
}

fn svg_text(
    class: &'static str,
    x: &str,
    y: &str,
    anchor: &'static str,
    transform: Option<String>,
    text: &str,
) -> View {
    let (x, y, text) = (x.to_owned(), y.to_owned(), text.to_owned());
    let transform = transform.unwrap_or_default();
    view! { text(class=class, x=x, y=y, textAnchor=anchor, dominantBaseline="middle", transform=transform) { (text) } }
}

/// A one-line text description of the chart (its SVG title).
fn chart_summary(chart: &Chart) -> String {
    let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
    let points: usize = chart.series.iter().map(|s| s.xs.len()).sum();
    let what = if chart.title.is_empty() {
        "plot"
    } else {
        chart.title.as_str()
    };
    format!("{what}: {} ({points} points)", names.join(", "))
}

/// A short reading of a number series: its first and last values.
pub fn series_caption(values: &[f64]) -> String {
    match (values.first(), values.last()) {
        (Some(first), Some(last)) => format!(
            "{} values, from {} to {}",
            values.len(),
            readable(*first, 7),
            readable(*last, 7)
        ),
        _ => "no values".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_line_plot_spec() {
        let chart = line_plot(&json!({
            "type": "line-plot", "title": "VQE", "x_label": "step", "y_label": "energy (Ha)",
            "series": [{"name": "energy", "x": [0, 1, 2], "y": [-0.24, -0.30, -0.34]}]
        }))
        .unwrap();
        assert_eq!(chart.title, "VQE");
        assert_eq!(chart.left.label, "energy (Ha)");
        assert_eq!(chart.series[0].ys, [-0.24, -0.30, -0.34]);
    }

    #[test]
    fn refuses_bad_plots_with_a_reason() {
        let err = line_plot(
            &json!({"type": "line-plot", "series": [{"name": "a", "x": [0, 1], "y": [1]}]}),
        )
        .unwrap_err();
        assert!(err.contains("2 x values and 1 y values"), "{err}");
        let err = line_plot(
            &json!({"type": "line-plot", "series": [{"name": "a", "x": [0, "1"], "y": [1, 2]}]}),
        )
        .unwrap_err();
        assert!(err.contains("series[0].x[1]"), "{err}");
        let many: Vec<Value> = (0..101)
            .map(|_| json!({"name": "s", "x": [], "y": []}))
            .collect();
        assert!(
            line_plot(&json!({"series": many}))
                .unwrap_err()
                .contains("at most 100")
        );
    }

    #[test]
    fn waveforms_put_currents_on_the_right() {
        let chart = waveform(&json!({
            "time": [0, 1e-3, 2e-3],
            "signals": {"v(in)": [0, 1, 1], "i(v1)": [0, -1e-3, -2e-4]}
        }))
        .unwrap();
        assert_eq!(chart.x.units, Units::Si("s"));
        assert!(chart.right.is_some());
        let current = chart.series.iter().find(|s| s.name == "i(v1)").unwrap();
        assert_eq!(current.side, Side::Right);
        let err = waveform(&json!({"time": [0, 2, 1], "signals": {}})).unwrap_err();
        assert_eq!(err, "time is not ascending");
    }

    #[test]
    fn si_axes_name_their_prefixed_unit() {
        let axis = Axis {
            label: "time".into(),
            units: Units::Si("s"),
        };
        let ticked = ticked(&axis, [0.0, 5e-3].into_iter(), (0.0, 100.0), 5);
        assert_eq!(ticked.title, "time (ms)");
        assert_eq!(ticked.ticks.last().unwrap().1, "5");
    }
}
