//! Time grains and periods of the metric store.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The length of a period indicators are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
    Quarter,
    Year,
    /// All time: one period holding every record.
    All,
}

/// The start date stored for the single all-time period.
pub const ALL_TIME_START: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("1900-01-01 is a date"),
};

impl Grain {
    pub const ALL: &'static [Grain] = &[Grain::Week, Grain::Month, Grain::Quarter, Grain::Year, Grain::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
            Self::All => "all",
        }
    }

    /// The first day of the period holding `date`.
    pub fn period_start(self, date: NaiveDate) -> NaiveDate {
        match self {
            Self::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Self::Month => ymd(date.year(), date.month(), 1),
            Self::Quarter => ymd(date.year(), (date.month() - 1) / 3 * 3 + 1, 1),
            Self::Year => ymd(date.year(), 1, 1),
            Self::All => ALL_TIME_START,
        }
    }

    /// The period holding `date`.
    pub fn period_of(self, date: NaiveDate) -> Period {
        Period { grain: self, start: self.period_start(date) }
    }

    /// Number of periods of this grain in a year (for annualising rates); `None` for all-time.
    pub fn per_year(self) -> Option<f64> {
        match self {
            Self::Week => Some(365.25 / 7.0),
            Self::Month => Some(12.0),
            Self::Quarter => Some(4.0),
            Self::Year => Some(1.0),
            Self::All => None,
        }
    }
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(ALL_TIME_START)
}

impl fmt::Display for Grain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A grain name that is not one of ours.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown grain {0:?} (expected week, month, quarter, year or all)")]
pub struct UnknownGrain(pub String);

impl FromStr for Grain {
    type Err = UnknownGrain;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Grain::ALL.iter().copied().find(|g| g.as_str() == s).ok_or_else(|| UnknownGrain(s.to_owned()))
    }
}

/// One period: a grain and its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub grain: Grain,
    pub start: NaiveDate,
}

impl Period {
    /// The first day after the period (`None` for all-time).
    pub fn end(self) -> Option<NaiveDate> {
        let s = self.start;
        Some(match self.grain {
            Grain::Week => s + Duration::days(7),
            Grain::Month => s.checked_add_months(chrono::Months::new(1))?,
            Grain::Quarter => s.checked_add_months(chrono::Months::new(3))?,
            Grain::Year => s.checked_add_months(chrono::Months::new(12))?,
            Grain::All => return None,
        })
    }

    /// The next period of the same grain (`None` for all-time).
    pub fn next(self) -> Option<Period> {
        self.end().map(|start| Period { grain: self.grain, start })
    }

    /// Length in days (`None` for all-time).
    pub fn days(self) -> Option<i64> {
        self.end().map(|e| (e - self.start).num_days())
    }

    /// A human label: `2017-W05`, `2017-03`, `2017-Q1`, `2017`, `all`.
    pub fn label(self) -> String {
        let s = self.start;
        match self.grain {
            Grain::Week => {
                let w = s.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Grain::Month => format!("{}-{:02}", s.year(), s.month()),
            Grain::Quarter => format!("{}-Q{}", s.year(), (s.month() - 1) / 3 + 1),
            Grain::Year => format!("{}", s.year()),
            Grain::All => "all".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_start_on_monday_first_of_month_quarter_and_year() {
        assert_eq!(Grain::Week.period_start(d("2017-01-01")), d("2016-12-26"));
        assert_eq!(Grain::Month.period_start(d("2017-02-28")), d("2017-02-01"));
        assert_eq!(Grain::Quarter.period_start(d("2017-06-30")), d("2017-04-01"));
        assert_eq!(Grain::Year.period_start(d("2017-06-30")), d("2017-01-01"));
        assert_eq!(Grain::All.period_start(d("2017-06-30")), ALL_TIME_START);
    }

    #[test]
    fn periods_know_their_length_successor_and_label() {
        let p = Grain::Month.period_of(d("2016-02-10"));
        assert_eq!(p.days(), Some(29));
        assert_eq!(p.next().unwrap().start, d("2016-03-01"));
        assert_eq!(p.label(), "2016-02");
        assert_eq!(Grain::Quarter.period_of(d("2016-11-02")).label(), "2016-Q4");
        assert_eq!(Grain::Week.period_of(d("2017-01-01")).label(), "2016-W52");
        assert_eq!(Grain::All.period_of(d("2017-01-01")).end(), None);
    }
}

/// 1970-01-01: day 0 of Arrow's and DuckDB's DATE.
pub const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a date"),
};

/// Days from 1970-01-01 (`DATE` as Arrow and DuckDB store it).
#[inline]
pub fn epoch_days(d: NaiveDate) -> i32 {
    /// 1970-01-01 counted from 0001-01-01 (day 1), as chrono's `num_days_from_ce` counts.
    const EPOCH_CE_DAYS: i32 = 719_163;
    d.num_days_from_ce() - EPOCH_CE_DAYS
}

/// The date `days` after 1970-01-01.
#[inline]
pub fn from_epoch_days(days: i32) -> NaiveDate {
    EPOCH + Duration::days(i64::from(days))
}

#[cfg(test)]
mod epoch_tests {
    use super::*;

    #[test]
    fn epoch_days_round_trip() {
        for d in ["1970-01-01", "1969-12-31", "2000-02-29", "2024-12-31", "1900-01-01"] {
            let date: NaiveDate = d.parse().unwrap();
            assert_eq!(from_epoch_days(epoch_days(date)), date);
            assert_eq!(i64::from(epoch_days(date)), (date - EPOCH).num_days());
        }
    }
}
