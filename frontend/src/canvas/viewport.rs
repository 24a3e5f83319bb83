//! The canvas camera: world coordinates (what workflow files store) to
//! CSS pixels of the canvas element and back.

use crate::graph::spatial::Rect;

/// Smallest and largest zoom factors.
pub const MIN_SCALE: f64 = 0.02;
pub const MAX_SCALE: f64 = 3.0;

/// `screen = world · scale + offset`, in CSS pixels relative to the
/// canvas's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub scale: f64,
    pub ox: f64,
    pub oy: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport {
            scale: 1.0,
            ox: 40.0,
            oy: 40.0,
        }
    }
}

impl Viewport {
    pub fn to_world(self, sx: f64, sy: f64) -> (f64, f64) {
        ((sx - self.ox) / self.scale, (sy - self.oy) / self.scale)
    }

    /// The world rectangle visible in a canvas of this CSS size.
    pub fn visible(self, width: f64, height: f64) -> Rect {
        let (x0, y0) = self.to_world(0.0, 0.0);
        Rect::new(x0, y0, width / self.scale, height / self.scale)
    }

    /// Zooms by `factor` keeping the world point under `(sx, sy)` fixed.
    pub fn zoom_at(&mut self, sx: f64, sy: f64, factor: f64) {
        let (wx, wy) = self.to_world(sx, sy);
        self.scale = (self.scale * factor).clamp(MIN_SCALE, MAX_SCALE);
        self.ox = sx - wx * self.scale;
        self.oy = sy - wy * self.scale;
    }

    pub fn pan(&mut self, dx: f64, dy: f64) {
        self.ox += dx;
        self.oy += dy;
    }

    /// Shows `bounds` centred with `margin` CSS pixels around it, never
    /// zooming in beyond 100 %.
    pub fn fit(bounds: &Rect, width: f64, height: f64, margin: f64) -> Viewport {
        let w = (width - 2.0 * margin).max(1.0);
        let h = (height - 2.0 * margin).max(1.0);
        let scale = (w / bounds.w.max(1.0))
            .min(h / bounds.h.max(1.0))
            .clamp(MIN_SCALE, 1.0);
        Viewport {
            scale,
            ox: width / 2.0 - (bounds.x + bounds.w / 2.0) * scale,
            oy: height / 2.0 - (bounds.y + bounds.h / 2.0) * scale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_and_world_round_trip_and_zoom_keeps_the_anchor() {
        let mut v = Viewport::default();
        let (wx, wy) = v.to_world(300.0, 200.0);
        v.zoom_at(300.0, 200.0, 2.0);
        let (sx, sy) = (wx * v.scale + v.ox, wy * v.scale + v.oy);
        assert!((sx - 300.0).abs() < 1e-9 && (sy - 200.0).abs() < 1e-9);
        v.zoom_at(0.0, 0.0, 1e6);
        assert_eq!(v.scale, MAX_SCALE);
    }

    #[test]
    fn fit_centres_the_bounds_without_zooming_in() {
        let v = Viewport::fit(&Rect::new(0.0, 0.0, 10_000.0, 5_000.0), 1000.0, 600.0, 50.0);
        assert!((v.scale - 0.09).abs() < 1e-9);
        let (cx, cy) = (5_000.0 * v.scale + v.ox, 2_500.0 * v.scale + v.oy);
        assert!((cx - 500.0).abs() < 1e-9 && (cy - 300.0).abs() < 1e-9);
        let small = Viewport::fit(&Rect::new(0.0, 0.0, 100.0, 100.0), 1000.0, 600.0, 50.0);
        assert_eq!(small.scale, 1.0);
        let visible = small.visible(1000.0, 600.0);
        assert!(visible.contains(0.0, 0.0) && visible.contains(100.0, 100.0));
    }
}
