//! Safe tables for publication: records cross-tabulated by one or two public coded columns or periods, with
//! their margins, under the disclosure control of the indicators. A count above zero and under the threshold
//! is withheld (primary suppression); then, wherever a published total would give a withheld cell back by
//! subtraction (a row, a column or the margins with exactly one withheld cell), one more cell of that line is
//! withheld (complementary suppression), until no line has a single withheld cell under a published total.
//! For a boolean measure each cell also carries the share of records with it true among those with it
//! recorded, with its Wilson interval; its numerator and denominator go through the same control.

use crate::MetricsError;
use crate::config::MetricsConfig;
use oversight_core::filter::Dimension;
use oversight_stats::intervals::wilson;
use oversight_store::{CrossCell, ExtractQuery, Store};
use serde::Serialize;
use std::collections::BTreeSet;

/// The label of a margin (`all` rows or columns).
pub const ALL: &str = "all";

/// One cell of a published table (a margin's cells have `all` as their row or column).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TableCell {
    pub row: String,
    pub column: String,
    /// Records in the cell; null when withheld.
    pub count: Option<i64>,
    /// Records with the measure true; null when withheld or without a measure.
    pub numerator: Option<i64>,
    /// Records with the measure recorded; null when withheld or without a measure.
    pub denominator: Option<i64>,
    /// numerator / denominator.
    pub share: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Whether anything of the cell is withheld.
    pub withheld: bool,
    /// `small_count` (under the threshold) or `complementary` (withheld so that another cannot be recovered
    /// from the totals).
    pub reason: Option<String>,
}

/// A cross-tabulation ready to publish.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SafeTable {
    /// The row labels, in order (`(missing)` last).
    pub rows: Vec<String>,
    /// The column labels, in order (`all` alone when there is no column dimension).
    pub columns: Vec<String>,
    /// Every row × column cell, row by row.
    pub cells: Vec<TableCell>,
    /// Each row's total (column `all`).
    pub row_totals: Vec<TableCell>,
    /// Each column's total (row `all`).
    pub column_totals: Vec<TableCell>,
    /// The grand total.
    pub total: TableCell,
}

/// What to tabulate: the records an extract query selects (its columns and sort unused), by `rows` and
/// optionally `columns`, with optionally the share of a true/false `measure`.
#[derive(Debug, Clone)]
pub struct TableSpec<'a> {
    pub records: ExtractQuery<'a>,
    pub rows: Dimension,
    pub columns: Option<Dimension>,
    pub measure: Option<&'static str>,
}

/// Tabulates the records and applies the disclosure control of the indicators (`suppression_threshold`).
pub fn tabulate(store: &Store, cfg: &MetricsConfig, spec: &TableSpec<'_>) -> Result<SafeTable, MetricsError> {
    let raw = store.crosstab(&spec.records, spec.rows, spec.columns, spec.measure)?;
    Ok(safe_table(&raw, spec.measure.is_some(), cfg.suppression_threshold, cfg.confidence))
}

/// A matrix of counts with its margins and what is withheld, the unit disclosure control works on.
struct Grid {
    cells: Vec<Vec<i64>>,
    rows: Vec<i64>,
    cols: Vec<i64>,
    total: i64,
    /// Withheld: cells, row totals, column totals, the grand total, each with its reason.
    hide: Vec<Vec<Option<&'static str>>>,
    hide_rows: Vec<Option<&'static str>>,
    hide_cols: Vec<Option<&'static str>>,
    hide_total: Option<&'static str>,
}

impl Grid {
    fn new(cells: Vec<Vec<i64>>) -> Self {
        let (nr, nc) = (cells.len(), cells.first().map_or(0, Vec::len));
        let rows: Vec<i64> = cells.iter().map(|r| r.iter().sum()).collect();
        let cols: Vec<i64> = (0..nc).map(|c| cells.iter().map(|r| r[c]).sum()).collect();
        let total = rows.iter().sum();
        Self {
            cells,
            rows,
            cols,
            total,
            hide: vec![vec![None; nc]; nr],
            hide_rows: vec![None; nr],
            hide_cols: vec![None; nc],
            hide_total: None,
        }
    }

    /// Primary, then complementary suppression.
    fn protect(&mut self, threshold: i64) {
        let small = |v: i64| v > 0 && v < threshold;
        let mark = |v: i64, h: &mut Option<&'static str>| {
            if small(v) {
                *h = Some("small_count");
            }
        };
        for (r, row) in self.cells.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                mark(*v, &mut self.hide[r][c]);
            }
            mark(self.rows[r], &mut self.hide_rows[r]);
        }
        for c in 0..self.cols.len() {
            mark(self.cols[c], &mut self.hide_cols[c]);
        }
        mark(self.total, &mut self.hide_total);
        while self.complement_once() {}
    }

    /// One pass over every line (each row, each column, and the two margins): where the line's total is
    /// published and exactly one of its cells is withheld, withhold its smallest other non-zero cell (or, if
    /// there is none, the total). Returns whether anything changed.
    fn complement_once(&mut self) -> bool {
        let (nr, nc) = (self.cells.len(), self.cols.len());
        // A line: its cells as (value, where), and where its total is.
        let mut lines: Vec<(Vec<(i64, Slot)>, Slot)> = Vec::new();
        for r in 0..nr {
            lines.push(((0..nc).map(|c| (self.cells[r][c], Slot::Cell(r, c))).collect(), Slot::Row(r)));
        }
        for c in 0..nc {
            lines.push(((0..nr).map(|r| (self.cells[r][c], Slot::Cell(r, c))).collect(), Slot::Col(c)));
        }
        lines.push(((0..nr).map(|r| (self.rows[r], Slot::Row(r))).collect(), Slot::Total));
        lines.push(((0..nc).map(|c| (self.cols[c], Slot::Col(c))).collect(), Slot::Total));
        let mut changed = false;
        for (cells, total) in lines {
            if cells.len() < 2 || self.hidden(total).is_some() {
                continue;
            }
            let hidden = cells.iter().filter(|(_, s)| self.hidden(*s).is_some()).count();
            if hidden != 1 {
                continue;
            }
            let other = cells.iter().filter(|(v, s)| *v > 0 && self.hidden(*s).is_none()).min_by_key(|(v, _)| *v);
            self.set(other.map_or(total, |(_, s)| *s), "complementary");
            changed = true;
        }
        changed
    }

    fn hidden(&self, s: Slot) -> Option<&'static str> {
        match s {
            Slot::Cell(r, c) => self.hide[r][c],
            Slot::Row(r) => self.hide_rows[r],
            Slot::Col(c) => self.hide_cols[c],
            Slot::Total => self.hide_total,
        }
    }

    fn set(&mut self, s: Slot, why: &'static str) {
        let h = match s {
            Slot::Cell(r, c) => &mut self.hide[r][c],
            Slot::Row(r) => &mut self.hide_rows[r],
            Slot::Col(c) => &mut self.hide_cols[c],
            Slot::Total => &mut self.hide_total,
        };
        h.get_or_insert(why);
    }

    fn value(&self, s: Slot) -> i64 {
        match s {
            Slot::Cell(r, c) => self.cells[r][c],
            Slot::Row(r) => self.rows[r],
            Slot::Col(c) => self.cols[c],
            Slot::Total => self.total,
        }
    }
}

/// A place in a grid: a cell, a row's total, a column's total, the grand total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Cell(usize, usize),
    Row(usize),
    Col(usize),
    Total,
}

/// Labels in order, `(missing)` last.
fn labels(it: impl Iterator<Item = String>) -> Vec<String> {
    let set: BTreeSet<String> = it.collect();
    let (mut known, missing): (Vec<String>, Vec<String>) = set.into_iter().partition(|l| l != "(missing)");
    known.extend(missing);
    known
}

/// Builds the published table from the raw cells: counts always, and with `measure` the share of each cell.
pub fn safe_table(raw: &[CrossCell], measure: bool, threshold: u32, confidence: f64) -> SafeTable {
    let rows = labels(raw.iter().map(|c| c.row.clone()));
    let columns = labels(raw.iter().map(|c| c.column.clone()));
    let grid_of = |f: &dyn Fn(&CrossCell) -> i64| {
        let mut m = vec![vec![0i64; columns.len()]; rows.len()];
        for c in raw {
            let (Some(r), Some(k)) =
                (rows.iter().position(|l| *l == c.row), columns.iter().position(|l| *l == c.column))
            else {
                continue;
            };
            m[r][k] += f(c);
        }
        let mut g = Grid::new(m);
        g.protect(i64::from(threshold));
        g
    };
    let counts = grid_of(&|c| c.count);
    let shares = measure.then(|| (grid_of(&|c| c.yes.unwrap_or(0)), grid_of(&|c| c.known.unwrap_or(0))));
    let cell = |s: Slot, row: &str, column: &str| {
        let mut reason = counts.hidden(s);
        let mut out = TableCell {
            row: row.to_owned(),
            column: column.to_owned(),
            count: reason.is_none().then(|| counts.value(s)),
            numerator: None,
            denominator: None,
            share: None,
            ci_low: None,
            ci_high: None,
            withheld: false,
            reason: None,
        };
        if let Some((yes, known)) = &shares {
            let why = reason.or(yes.hidden(s)).or(known.hidden(s));
            if why.is_none() {
                let (x, n) = (yes.value(s), known.value(s));
                out.numerator = Some(x);
                out.denominator = Some(n);
                if let Some(e) = wilson(x as f64, n as f64, confidence) {
                    (out.share, out.ci_low, out.ci_high) = (Some(e.value), Some(e.low), Some(e.high));
                }
            }
            reason = why;
        }
        out.withheld = reason.is_some();
        out.reason = reason.map(str::to_owned);
        out
    };
    let mut cells = Vec::new();
    for (r, rl) in rows.iter().enumerate() {
        for (c, cl) in columns.iter().enumerate() {
            cells.push(cell(Slot::Cell(r, c), rl, cl));
        }
    }
    SafeTable {
        row_totals: rows.iter().enumerate().map(|(r, l)| cell(Slot::Row(r), l, ALL)).collect(),
        column_totals: columns.iter().enumerate().map(|(c, l)| cell(Slot::Col(c), ALL, l)).collect(),
        total: cell(Slot::Total, ALL, ALL),
        cells,
        rows,
        columns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(m: &[&[i64]]) -> Vec<CrossCell> {
        let mut v = Vec::new();
        for (r, row) in m.iter().enumerate() {
            for (c, n) in row.iter().enumerate() {
                v.push(CrossCell { row: format!("r{r}"), column: format!("c{c}"), count: *n, known: None, yes: None });
            }
        }
        v
    }

    /// Every assignment of the withheld cells (0 to `max` each) that agrees with every published cell and
    /// total, found depth first (a cell that is the last withheld one of a line with a published total is
    /// forced by it): the values the withheld cell at (r, c) can take.
    fn feasible(t: &SafeTable, r: usize, c: usize, max: i64) -> BTreeSet<i64> {
        let (nr, nc) = (t.rows.len(), t.columns.len());
        let published = |i: usize, j: usize| t.cells[i * nc + j].count;
        let hidden: Vec<(usize, usize)> =
            (0..nr).flat_map(|i| (0..nc).map(move |j| (i, j))).filter(|&(i, j)| published(i, j).is_none()).collect();
        // The sum a line's withheld cells must make, where its total is published.
        let need_row: Vec<Option<i64>> = (0..nr)
            .map(|i| t.row_totals[i].count.map(|s| s - (0..nc).filter_map(|j| published(i, j)).sum::<i64>()))
            .collect();
        let need_col: Vec<Option<i64>> = (0..nc)
            .map(|j| t.column_totals[j].count.map(|s| s - (0..nr).filter_map(|i| published(i, j)).sum::<i64>()))
            .collect();
        let need_all = t.total.count.map(|s| s - t.cells.iter().filter_map(|c| c.count).sum::<i64>());
        let mut out = BTreeSet::new();
        let mut vals = vec![0i64; hidden.len()];
        fn go(
            k: usize,
            vals: &mut Vec<i64>,
            hidden: &[(usize, usize)],
            needs: (&[Option<i64>], &[Option<i64>], Option<i64>),
            max: i64,
            target: (usize, usize),
            out: &mut BTreeSet<i64>,
        ) {
            let (need_row, need_col, need_all) = needs;
            let sum_row = |i: usize, upto: usize, vals: &[i64]| -> i64 {
                (0..upto).filter(|&m| hidden[m].0 == i).map(|m| vals[m]).sum()
            };
            let sum_col = |j: usize, upto: usize, vals: &[i64]| -> i64 {
                (0..upto).filter(|&m| hidden[m].1 == j).map(|m| vals[m]).sum()
            };
            if k == hidden.len() {
                let rows_ok = need_row.iter().enumerate().all(|(i, n)| n.is_none_or(|n| sum_row(i, k, vals) == n));
                let cols_ok = need_col.iter().enumerate().all(|(j, n)| n.is_none_or(|n| sum_col(j, k, vals) == n));
                let all_ok = need_all.is_none_or(|n| vals.iter().sum::<i64>() == n);
                if rows_ok && cols_ok && all_ok {
                    let t = hidden.iter().position(|h| *h == target).map_or(0, |m| vals[m]);
                    out.insert(t);
                }
                return;
            }
            let (i, j) = hidden[k];
            let last_in_row = !hidden[k + 1..].iter().any(|h| h.0 == i);
            let last_in_col = !hidden[k + 1..].iter().any(|h| h.1 == j);
            let forced_row = need_row[i].filter(|_| last_in_row).map(|n| n - sum_row(i, k, vals));
            let forced_col = need_col[j].filter(|_| last_in_col).map(|n| n - sum_col(j, k, vals));
            let range: Vec<i64> = match (forced_row, forced_col) {
                (Some(a), Some(b)) if a != b => return,
                (Some(a), _) | (None, Some(a)) => vec![a],
                (None, None) => (0..=max).collect(),
            };
            for v in range {
                if v < 0 || v > max {
                    continue;
                }
                let over_row = need_row[i].is_some_and(|n| sum_row(i, k, vals) + v > n);
                let over_col = need_col[j].is_some_and(|n| sum_col(j, k, vals) + v > n);
                if over_row || over_col {
                    continue;
                }
                vals[k] = v;
                go(k + 1, vals, hidden, needs, max, target, out);
            }
            vals[k] = 0;
        }
        go(0, &mut vals, &hidden, (&need_row, &need_col, need_all), max, (r, c), &mut out);
        out
    }

    #[test]
    fn a_small_cell_is_withheld_with_a_complement_in_its_row_and_column_and_cannot_be_recovered() {
        let t = safe_table(&raw(&[&[3, 40, 50], &[30, 45, 60], &[25, 35, 70]]), false, 11, 0.95);
        let at = |r: usize, c: usize| &t.cells[r * 3 + c];
        assert_eq!(at(0, 0).reason.as_deref(), Some("small_count"));
        assert!((1..3).any(|c| at(0, c).reason.as_deref() == Some("complementary")), "a complement in its row");
        assert!((1..3).any(|r| at(r, 0).reason.as_deref() == Some("complementary")), "a complement in its column");
        assert!(t.total.count.is_some() && t.row_totals.iter().all(|c| c.count.is_some()));
        // Brute force from what is published: the small cell is not pinned down.
        let values = feasible(&t, 0, 0, 80);
        assert!(values.len() > 1 && values.contains(&3), "{values:?}");
    }

    #[test]
    fn a_small_margin_is_withheld_and_so_is_what_would_give_it_back() {
        // Row r1's total is 7: withheld, and it is one of the row totals under the grand total.
        let t = safe_table(&raw(&[&[40, 50], &[3, 4], &[30, 60]]), false, 11, 0.95);
        assert_eq!(t.row_totals[1].reason.as_deref(), Some("small_count"));
        assert!(t.row_totals.iter().filter(|c| c.withheld).count() >= 2 || t.total.withheld);
        for (r, c) in [(1, 0), (1, 1)] {
            assert!(feasible(&t, r, c, 70).len() > 1, "cell ({r}, {c}) recovered");
        }
    }

    #[test]
    fn shares_carry_their_numerator_denominator_and_interval_and_are_withheld_with_their_counts() {
        let cells = vec![
            CrossCell { row: "a".into(), column: ALL.into(), count: 100, known: Some(90), yes: Some(30) },
            CrossCell { row: "b".into(), column: ALL.into(), count: 100, known: Some(95), yes: Some(4) },
            CrossCell { row: "c".into(), column: ALL.into(), count: 80, known: Some(80), yes: Some(20) },
        ];
        let t = safe_table(&cells, true, 11, 0.95);
        let a = &t.cells[0];
        assert_eq!((a.numerator, a.denominator), (Some(30), Some(90)));
        let e = wilson(30.0, 90.0, 0.95).unwrap();
        assert_eq!((a.share, a.ci_low, a.ci_high), (Some(e.value), Some(e.low), Some(e.high)));
        // b's numerator (4) is small: its share is withheld, and so is another row's, or b's would come back
        // from the total's numerator.
        assert!(t.cells[1].withheld && t.cells[1].share.is_none() && t.cells[1].count.is_some());
        assert!(t.cells[0].withheld || t.cells[2].withheld || t.total.withheld);
    }
}
