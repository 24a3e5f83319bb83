//! A uniform grid over world space: which node boxes overlap a rectangle.
//!
//! The canvas asks it for the nodes inside the viewport on every frame and
//! for the nodes under the pointer on every pointer event; a linear scan of
//! 5,000 nodes would cost more than the whole frame budget on slow
//! machines. Node boxes are about 180 × 100 world units, so cells of 256
//! hold few nodes each and a node touches at most four cells.

use std::collections::HashMap;

/// An axis-aligned rectangle in world units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn new(x: f64, y: f64, w: f64, h: f64) -> Self {
        Rect { x, y, w, h }
    }

    /// The rectangle spanned by two corners in any order.
    pub fn from_corners(a: (f64, f64), b: (f64, f64)) -> Self {
        Rect {
            x: a.0.min(b.0),
            y: a.1.min(b.1),
            w: (a.0 - b.0).abs(),
            h: (a.1 - b.1).abs(),
        }
    }

    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    pub fn contains(&self, px: f64, py: f64) -> bool {
        px >= self.x && px <= self.right() && py >= self.y && py <= self.bottom()
    }

    pub fn intersects(&self, other: &Rect) -> bool {
        self.x <= other.right()
            && other.x <= self.right()
            && self.y <= other.bottom()
            && other.y <= self.bottom()
    }

    /// The rectangle grown by `m` on every side.
    pub fn inflate(&self, m: f64) -> Rect {
        Rect::new(self.x - m, self.y - m, self.w + 2.0 * m, self.h + 2.0 * m)
    }

    /// The smallest rectangle holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect::new(
            x,
            y,
            self.right().max(other.right()) - x,
            self.bottom().max(other.bottom()) - y,
        )
    }
}

/// Side of a grid cell in world units.
pub const CELL: f64 = 256.0;

/// Most cells one item may cover; a larger item is put in the `huge` list
/// that every query checks, so a pathological box cannot flood the grid.
const MAX_CELLS_PER_ITEM: i64 = 64;

/// The grid: cell → indices of the items overlapping it.
#[derive(Debug, Clone, Default)]
pub struct SpatialGrid {
    cells: HashMap<(i32, i32), Vec<u32>>,
    huge: Vec<u32>,
    rects: Vec<Rect>,
}

fn cell_of(v: f64) -> i32 {
    // Saturating float-to-int keeps absurd coordinates in range.
    (v / CELL).floor() as i32
}

impl SpatialGrid {
    /// Indexes `rects`; item `i` is `rects[i]`.
    pub fn new(rects: Vec<Rect>) -> Self {
        let mut grid = SpatialGrid {
            cells: HashMap::with_capacity(rects.len()),
            huge: Vec::new(),
            rects: Vec::new(),
        };
        for (i, r) in rects.iter().enumerate() {
            grid.insert(i as u32, r);
        }
        grid.rects = rects;
        grid
    }

    fn insert(&mut self, item: u32, r: &Rect) {
        let (x0, x1) = (cell_of(r.x), cell_of(r.right()));
        let (y0, y1) = (cell_of(r.y), cell_of(r.bottom()));
        let count = (i64::from(x1) - i64::from(x0) + 1) * (i64::from(y1) - i64::from(y0) + 1);
        if count > MAX_CELLS_PER_ITEM {
            self.huge.push(item);
            return;
        }
        for cx in x0..=x1 {
            for cy in y0..=y1 {
                self.cells.entry((cx, cy)).or_default().push(item);
            }
        }
    }

    /// Items whose rectangle intersects `area`, ascending (draw order),
    /// each once; `out` is cleared first and reused to avoid allocating on
    /// every frame.
    pub fn query(&self, area: &Rect, out: &mut Vec<u32>) {
        out.clear();
        let (x0, x1) = (cell_of(area.x), cell_of(area.right()));
        let (y0, y1) = (cell_of(area.y), cell_of(area.bottom()));
        let span = (i64::from(x1) - i64::from(x0) + 1) * (i64::from(y1) - i64::from(y0) + 1);
        if span > self.cells.len() as i64 {
            // The area covers more cells than exist: scan the items.
            out.extend(
                self.rects
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.intersects(area))
                    .map(|(i, _)| i as u32),
            );
            return;
        }
        for cx in x0..=x1 {
            for cy in y0..=y1 {
                if let Some(items) = self.cells.get(&(cx, cy)) {
                    out.extend(
                        items
                            .iter()
                            .copied()
                            .filter(|&i| self.rects[i as usize].intersects(area)),
                    );
                }
            }
        }
        out.extend(
            self.huge
                .iter()
                .copied()
                .filter(|&i| self.rects[i as usize].intersects(area)),
        );
        out.sort_unstable();
        out.dedup();
    }

    /// The topmost (last drawn) item containing the point.
    pub fn topmost_at(&self, x: f64, y: f64) -> Option<u32> {
        let cell = (cell_of(x), cell_of(y));
        self.cells
            .get(&cell)
            .into_iter()
            .flatten()
            .chain(self.huge.iter())
            .copied()
            .filter(|&i| self.rects[i as usize].contains(x, y))
            .max()
    }

    /// The bounding box of every item.
    pub fn bounds(&self) -> Option<Rect> {
        self.rects.iter().copied().reduce(|a, b| a.union(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_finds_exactly_the_intersecting_items_once() {
        let rects: Vec<Rect> = (0..100)
            .map(|i| {
                Rect::new(
                    f64::from(i % 10) * 200.0,
                    f64::from(i / 10) * 150.0,
                    180.0,
                    100.0,
                )
            })
            .collect();
        let grid = SpatialGrid::new(rects.clone());
        let area = Rect::new(150.0, 120.0, 500.0, 300.0);
        let mut out = Vec::new();
        grid.query(&area, &mut out);
        let expected: Vec<u32> = rects
            .iter()
            .enumerate()
            .filter(|(_, r)| r.intersects(&area))
            .map(|(i, _)| i as u32)
            .collect();
        assert_eq!(out, expected);
        assert!(!out.is_empty());
    }

    #[test]
    fn a_huge_query_falls_back_to_a_scan() {
        let grid = SpatialGrid::new(vec![
            Rect::new(0.0, 0.0, 10.0, 10.0),
            Rect::new(1e6, 1e6, 10.0, 10.0),
        ]);
        let mut out = Vec::new();
        grid.query(&Rect::new(-1e7, -1e7, 2e7, 2e7), &mut out);
        assert_eq!(out, [0, 1]);
    }

    #[test]
    fn topmost_prefers_the_later_item_and_huge_items_are_found() {
        let grid = SpatialGrid::new(vec![
            Rect::new(0.0, 0.0, 100.0, 100.0),
            Rect::new(50.0, 50.0, 100.0, 100.0),
            Rect::new(-1e5, -1e5, 2e5, 2e5),
        ]);
        assert_eq!(grid.topmost_at(60.0, 60.0), Some(2));
        let grid = SpatialGrid::new(vec![
            Rect::new(0.0, 0.0, 100.0, 100.0),
            Rect::new(50.0, 50.0, 100.0, 100.0),
        ]);
        assert_eq!(grid.topmost_at(60.0, 60.0), Some(1));
        assert_eq!(grid.topmost_at(10.0, 10.0), Some(0));
        assert_eq!(grid.topmost_at(500.0, 10.0), None);
        assert_eq!(grid.bounds(), Some(Rect::new(0.0, 0.0, 150.0, 150.0)));
    }
}
