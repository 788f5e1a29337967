//! Indicator points from period totals: counts, proportions, per-resident rates, and ratios or differences
//! against a reference group, each with its numerator, denominator, interval and method. Rules for zero
//! counts are explicit: the value is absent and the note says why; never NaN.

use crate::config::MetricsConfig;
use crate::cube::MISSING;
use crate::totals::Totals;
use oversight_core::{Grain, IndicatorId, Measure, Period};
use oversight_stats::intervals::{
    Comparison, Counts, Estimate, Method, count_rse, poisson_rate, proportion_rse, wilson,
};
use oversight_store::PointRow;

/// Where points of one jurisdiction go.
pub(crate) struct Sink<'a> {
    pub(crate) cfg: &'a MetricsConfig,
    pub(crate) jurisdiction: &'a str,
    pub(crate) points: Vec<PointRow>,
}

/// The stored group label: `all` or `dim:value`.
pub(crate) fn group_label(dim: &str, grp: &str) -> String {
    if dim == "all" { "all".to_owned() } else { format!("{dim}:{grp}") }
}

impl Sink<'_> {
    fn base(&self, indicator: IndicatorId, p: Period, group: &str) -> PointRow {
        PointRow {
            indicator: indicator.as_str().to_owned(),
            jurisdiction_id: self.jurisdiction.to_owned(),
            grain: p.grain.as_str().to_owned(),
            period_start: p.start,
            group: group.to_owned(),
            ..Default::default()
        }
    }

    fn with_ci(mut pt: PointRow, e: Estimate, m: Method) -> PointRow {
        pt.value = Some(e.value);
        pt.ci_low = Some(e.low);
        pt.ci_high = Some(e.high);
        pt.ci_method = Some(m.as_str().to_owned());
        pt
    }

    pub(crate) fn count(&mut self, indicator: IndicatorId, p: Period, group: &str, n: f64) {
        let mut pt = self.base(indicator, p, group);
        pt.numerator = Some(n);
        pt.value = Some(n);
        self.points.push(pt);
    }

    /// x of n, with the Wilson interval. No denominator: no value.
    pub(crate) fn proportion(&mut self, indicator: IndicatorId, p: Period, group: &str, x: f64, n: f64, what: &str) {
        let mut pt = self.base(indicator, p, group);
        pt.numerator = Some(x);
        pt.denominator = Some(n);
        match wilson(x, n, self.cfg.confidence) {
            Some(e) => {
                pt = Self::with_ci(pt, e, Method::Wilson);
                pt.low_reliability =
                    x < f64::from(self.cfg.min_events) || proportion_rse(x, n).is_none_or(|r| r > self.cfg.max_rse);
            }
            None => pt.note = Some(format!("no value: no {what} in this period")),
        }
        self.points.push(pt);
    }

    /// x events over `person_years`, per 1,000 per year, with the exact Poisson interval.
    pub(crate) fn population_rate(
        &mut self,
        indicator: IndicatorId,
        p: Period,
        group: &str,
        x: f64,
        person_years: Option<f64>,
        note: String,
    ) {
        let mut pt = self.base(indicator, p, group);
        pt.numerator = Some(x);
        pt.note = Some(note);
        if let Some(py) = person_years.filter(|v| *v > 0.0) {
            pt.denominator = Some(py);
            if let Some(e) = poisson_rate(x, py, 1000.0, self.cfg.confidence) {
                pt = Self::with_ci(pt, e, Method::PoissonExact);
                pt.low_reliability =
                    x < f64::from(self.cfg.min_events) || count_rse(x).is_none_or(|r| r > self.cfg.max_rse);
            }
        }
        self.points.push(pt);
    }

    /// A ratio of proportions, the group's over the reference's (Katz log interval).
    pub(crate) fn proportion_ratio(
        &mut self,
        indicator: IndicatorId,
        p: Period,
        group: &str,
        reference: &str,
        c: Comparison,
    ) {
        let fit = Fit { est: c.katz_ratio(self.cfg.confidence), method: Method::KatzLog, log_se: c.katz_log_se() };
        self.ratio(indicator, p, group, reference, c, fit);
    }

    /// A ratio of rates (events over exposure), the group's over the reference's (Poisson log-Wald interval).
    pub(crate) fn rate_ratio(
        &mut self,
        indicator: IndicatorId,
        p: Period,
        group: &str,
        reference: &str,
        c: Comparison,
    ) {
        let fit = Fit {
            est: c.poisson_rate_ratio(self.cfg.confidence),
            method: Method::PoissonLogWald,
            log_se: Some(c.poisson_log_se()),
        };
        self.ratio(indicator, p, group, reference, c, fit);
    }

    /// A ratio point from its comparison and fit: low-reliability when either count of events is under
    /// `min_events` or the SE of the log over `max_rse`; when undefined, the note says why.
    fn ratio(&mut self, indicator: IndicatorId, p: Period, group: &str, reference: &str, c: Comparison, fit: Fit) {
        let mut pt = self.compared_point(indicator, p, group, reference, c);
        let (a, c_events) = (c.group.events, c.reference.events);
        match fit.est {
            Some(e) => {
                pt = Self::with_ci(pt, e, fit.method);
                pt.low_reliability = a.min(c_events) < f64::from(self.cfg.min_events)
                    || fit.log_se.is_none_or(|se| se > self.cfg.max_rse);
            }
            None => pt.note = Some(undefined_reason(c, reference)),
        }
        self.points.push(pt);
    }

    /// A point of a comparison: the group's counts as numerator and denominator, the reference's beside.
    fn compared_point(
        &self,
        indicator: IndicatorId,
        p: Period,
        group: &str,
        reference: &str,
        c: Comparison,
    ) -> PointRow {
        let mut pt = self.base(indicator, p, group);
        pt.numerator = Some(c.group.events);
        pt.denominator = Some(c.group.base);
        pt.reference_group = Some(reference.to_owned());
        pt.reference_numerator = Some(c.reference.events);
        pt.reference_denominator = Some(c.reference.base);
        pt
    }

    /// A difference of proportions, the group's minus the reference's (Wald interval).
    pub(crate) fn difference(
        &mut self,
        indicator: IndicatorId,
        p: Period,
        group: &str,
        reference: &str,
        c: Comparison,
    ) {
        let mut pt = self.compared_point(indicator, p, group, reference, c);
        match c.wald_difference(self.cfg.confidence) {
            Some(e) => {
                pt = Self::with_ci(pt, e, Method::WaldDifference);
                pt.low_reliability = c.group.events.min(c.reference.events) < f64::from(self.cfg.min_events);
            }
            None => {
                pt.note = Some(if c.group.base <= 0.0 {
                    "difference undefined: the group has no searches in this period".to_owned()
                } else {
                    format!("difference undefined: the reference group ({reference}) has no searches in this period")
                })
            }
        }
        self.points.push(pt);
    }
}

/// A ratio's estimate, its method and the standard error of its log.
struct Fit {
    est: Option<Estimate>,
    method: Method,
    log_se: Option<f64>,
}

fn undefined_reason(cmp: Comparison, reference: &str) -> String {
    let [a, n1, c, n2] = cmp.counts();
    if n2 <= 0.0 {
        format!("ratio undefined: no records of the reference group ({reference}) in this period")
    } else if c <= 0.0 {
        format!("ratio undefined: no events for the reference group ({reference}) in this period")
    } else if n1 <= 0.0 {
        "ratio undefined: no records of the group in this period".to_owned()
    } else if a <= 0.0 {
        "ratio undefined: no events for the group in this period (a ratio of 0 has no interval on the log scale)"
            .to_owned()
    } else {
        "ratio undefined".to_owned()
    }
}

/// Groups a ratio is computed for: every known group but the reference (unknown and missing have no ratio).
fn compared(t: &Totals, dim: &str, reference: &str) -> Vec<String> {
    t.groups(dim).into_iter().filter(|g| g != reference && g != MISSING && g != "unknown").collect()
}

/// (dimension, group) pairs of a breakdown, everyone first.
fn breakdown(t: &Totals, dims: &[&str]) -> Vec<(String, String)> {
    let mut v = vec![("all".to_owned(), "all".to_owned())];
    for d in dims {
        for g in t.groups(d) {
            v.push(((*d).to_owned(), g));
        }
    }
    v
}

/// Population lookup for per-resident rates: (person-years or None, note saying where they came from).
pub(crate) trait Residents {
    fn person_years(&self, group: &str, p: Period, covered_days: f64) -> (Option<f64>, String);
}

/// Stop indicators.
pub(crate) fn stops(s: &mut Sink<'_>, t: &Totals, residents: &dyn Residents) {
    let reference = s.cfg.reference_group.clone();
    let all_time = Grain::All.period_of(t.span.map(|x| x.0).unwrap_or_default());
    let has_referrals = t.get(all_time, "all", "all", Measure::ReferralKnown) > 0.0;
    // Frisks only where the source records them (most do not): no points of a rate nobody recorded.
    let has_frisks = t.get(all_time, "all", "all", Measure::FriskKnown) > 0.0;
    for grain in Grain::ALL {
        for p in t.periods(*grain) {
            let m = |dim: &str, grp: &str, measure: Measure| t.get(p, dim, grp, measure);
            for (dim, grp) in breakdown(t, &["race", "sex", "age"]) {
                let g = group_label(&dim, &grp);
                s.count(IndicatorId::StopsCount, p, &g, m(&dim, &grp, Measure::Stops));
                s.proportion(
                    IndicatorId::StopsSearchRate,
                    p,
                    &g,
                    m(&dim, &grp, Measure::Searches),
                    m(&dim, &grp, Measure::SearchKnown),
                    "stops with a recorded search status",
                );
                s.proportion(
                    IndicatorId::StopsArrestRate,
                    p,
                    &g,
                    m(&dim, &grp, Measure::Arrests),
                    m(&dim, &grp, Measure::ArrestKnown),
                    "stops with a recorded arrest status",
                );
                if has_frisks {
                    s.proportion(
                        IndicatorId::StopsFriskRate,
                        p,
                        &g,
                        m(&dim, &grp, Measure::Frisks),
                        m(&dim, &grp, Measure::FriskKnown),
                        "stops with a recorded frisk status",
                    );
                }
                s.proportion(
                    IndicatorId::StopsCitationRate,
                    p,
                    &g,
                    m(&dim, &grp, Measure::Citations),
                    m(&dim, &grp, Measure::CitationKnown),
                    "stops with a recorded citation status",
                );
                if dim == "all" || dim == "race" {
                    s.proportion(
                        IndicatorId::StopsHitRate,
                        p,
                        &g,
                        m(&dim, &grp, Measure::Found),
                        m(&dim, &grp, Measure::FoundKnown),
                        "searches with a recorded result",
                    );
                    if has_referrals {
                        s.proportion(
                            IndicatorId::StopsReferralRate,
                            p,
                            &g,
                            m(&dim, &grp, Measure::Referrals),
                            m(&dim, &grp, Measure::ReferralKnown),
                            "stops with a recorded referral status",
                        );
                    }
                    if grp != MISSING && grp != "unknown" {
                        let pop_group = if dim == "all" { "all" } else { grp.as_str() };
                        let (py, note) = residents.person_years(pop_group, p, t.covered_days(p));
                        s.population_rate(
                            IndicatorId::StopsRatePer1000,
                            p,
                            &g,
                            m(&dim, &grp, Measure::Stops),
                            py,
                            note,
                        );
                    }
                }
            }
            // Ratios and differences against the reference group.
            let r = |measure: Measure| t.get(p, "race", &reference, measure);
            let (ref_py, _) = residents.person_years(&reference, p, t.covered_days(p));
            for grp in compared(t, "race", &reference) {
                let g = group_label("race", &grp);
                let a = |measure: Measure| t.get(p, "race", &grp, measure);
                let cmp = |events: Measure, base: Measure| {
                    Comparison::new(Counts::new(a(events), a(base)), Counts::new(r(events), r(base)))
                };
                if let (Some(t1), Some(t2)) = (residents.person_years(&grp, p, t.covered_days(p)).0, ref_py) {
                    let c = Comparison::new(Counts::new(a(Measure::Stops), t1), Counts::new(r(Measure::Stops), t2));
                    s.rate_ratio(IndicatorId::StopsRateRatio, p, &g, &reference, c);
                }
                s.proportion_ratio(
                    IndicatorId::StopsSearchRateRatio,
                    p,
                    &g,
                    &reference,
                    cmp(Measure::Searches, Measure::SearchKnown),
                );
                if has_frisks {
                    s.proportion_ratio(
                        IndicatorId::StopsFriskRateRatio,
                        p,
                        &g,
                        &reference,
                        cmp(Measure::Frisks, Measure::FriskKnown),
                    );
                }
                s.proportion_ratio(
                    IndicatorId::StopsArrestRateRatio,
                    p,
                    &g,
                    &reference,
                    cmp(Measure::Arrests, Measure::ArrestKnown),
                );
                s.proportion_ratio(
                    IndicatorId::StopsCitationRateRatio,
                    p,
                    &g,
                    &reference,
                    cmp(Measure::Citations, Measure::CitationKnown),
                );
                s.difference(
                    IndicatorId::StopsHitRateDifference,
                    p,
                    &g,
                    &reference,
                    cmp(Measure::Found, Measure::FoundKnown),
                );
            }
        }
    }
}

/// Detainer indicators. `top` lists the countries shown by name.
pub(crate) fn detainers(s: &mut Sink<'_>, t: &Totals, top: &[String]) {
    for grain in Grain::ALL {
        for p in t.periods(*grain) {
            let c = |dim: &str, grp: &str| t.get(p, dim, grp, Measure::Count);
            let total = c("all", "all");
            s.count(IndicatorId::DetainersCount, p, "all", total);
            for dim in ["criminality", "outcome", "sex"] {
                for grp in t.groups(dim) {
                    s.count(IndicatorId::DetainersCount, p, &group_label(dim, &grp), c(dim, &grp));
                }
            }
            // Countries: the top ones by name, the rest as other.
            let known_countries: f64 =
                t.groups("country").iter().filter(|g| *g != MISSING).map(|g| c("country", g)).sum();
            let mut other = known_countries;
            for country in top {
                let n = c("country", country);
                other -= n;
                s.count(IndicatorId::DetainersCount, p, &group_label("country", country), n);
                s.proportion(
                    IndicatorId::DetainersCountryShare,
                    p,
                    &group_label("country", country),
                    n,
                    known_countries,
                    "requests with a known country",
                );
            }
            if t.groups("country").iter().any(|g| g != MISSING && !top.contains(g)) {
                s.count(IndicatorId::DetainersCount, p, "country:other", other);
                s.proportion(
                    IndicatorId::DetainersCountryShare,
                    p,
                    "country:other",
                    other,
                    known_countries,
                    "requests with a known country",
                );
            }
            for grp in t.groups("criminality") {
                s.proportion(
                    IndicatorId::DetainersCriminalityShare,
                    p,
                    &group_label("criminality", &grp),
                    c("criminality", &grp),
                    total,
                    "requests",
                );
            }
            let no_conviction = c("criminality", "pending_charges") + c("criminality", "other_immigration_violator");
            let known_class = no_conviction + c("criminality", "convicted");
            s.proportion(
                IndicatorId::DetainersNoConvictionShare,
                p,
                "all",
                no_conviction,
                known_class,
                "requests with a known criminality class",
            );
            let known_outcome: f64 =
                t.groups("outcome").iter().filter(|g| *g != MISSING && *g != "unknown").map(|g| c("outcome", g)).sum();
            for grp in t.groups("outcome").into_iter().filter(|g| g != MISSING && g != "unknown") {
                s.proportion(
                    IndicatorId::DetainersOutcomeShare,
                    p,
                    &group_label("outcome", &grp),
                    c("outcome", &grp),
                    known_outcome,
                    "requests with a known outcome",
                );
            }
            let (wt, wf) = (c("warrant", "true"), c("warrant", "false"));
            s.proportion(
                IndicatorId::DetainersJudicialWarrantShare,
                p,
                "all",
                wt,
                wt + wf,
                "requests with a known warrant status",
            );
            let known_sex: f64 =
                t.groups("sex").iter().filter(|g| *g != MISSING && *g != "unknown").map(|g| c("sex", g)).sum();
            for grp in t.groups("sex").into_iter().filter(|g| g != MISSING && g != "unknown") {
                s.proportion(
                    IndicatorId::DetainersSexShare,
                    p,
                    &group_label("sex", &grp),
                    c("sex", &grp),
                    known_sex,
                    "requests with a known sex",
                );
            }
            // Race only where the source records it: counts and shares among requests with a known race.
            let known_race: f64 =
                t.groups("race").iter().filter(|g| *g != MISSING && *g != "unknown").map(|g| c("race", g)).sum();
            if known_race > 0.0 {
                for grp in t.groups("race").into_iter().filter(|g| g != MISSING) {
                    s.count(IndicatorId::DetainersCount, p, &group_label("race", &grp), c("race", &grp));
                    if grp != "unknown" {
                        s.proportion(
                            IndicatorId::DetainersRaceShare,
                            p,
                            &group_label("race", &grp),
                            c("race", &grp),
                            known_race,
                            "requests with a known race",
                        );
                    }
                }
            }
            let known_severity: f64 = ["felony", "misdemeanor", "other", "none"].iter().map(|g| c("severity", g)).sum();
            s.proportion(
                IndicatorId::DetainersFelonyShare,
                p,
                "all",
                c("severity", "felony"),
                known_severity,
                "requests with a known charge severity",
            );
        }
    }
}

/// Crime report indicators.
pub(crate) fn crime_reports(s: &mut Sink<'_>, t: &Totals) {
    for grain in Grain::ALL {
        for p in t.periods(*grain) {
            let c = |dim: &str, grp: &str| t.get(p, dim, grp, Measure::Count);
            let total = c("all", "all");
            for (dim, grp) in breakdown(t, &["race", "offense"]) {
                s.count(IndicatorId::CrimeReportsCount, p, &group_label(&dim, &grp), c(&dim, &grp));
            }
            for grp in t.groups("race") {
                s.proportion(
                    IndicatorId::CrimeReportsRaceShare,
                    p,
                    &group_label("race", &grp),
                    c("race", &grp),
                    total,
                    "reports",
                );
            }
        }
    }
}

/// Complaint counts and sustain rates (the additive ones; see `complaints` for the rest).
pub(crate) fn complaints(s: &mut Sink<'_>, complaints: &Totals, allegations: &Totals) {
    let all_time = Grain::All.period_of(allegations.span.map(|x| x.0).unwrap_or_default());
    let has_outcomes = allegations.get(all_time, "all", "all", Measure::DisciplineDecided) > 0.0;
    for grain in Grain::ALL {
        for p in complaints.periods(*grain) {
            for (dim, grp) in breakdown(complaints, &["race"]) {
                s.count(
                    IndicatorId::ComplaintsCount,
                    p,
                    &group_label(&dim, &grp),
                    complaints.get(p, &dim, &grp, Measure::Count),
                );
            }
        }
        for p in allegations.periods(*grain) {
            let m = |dim: &str, grp: &str, measure: Measure| allegations.get(p, dim, grp, measure);
            for (dim, grp) in breakdown(allegations, &["category"]) {
                s.count(
                    IndicatorId::AllegationsCount,
                    p,
                    &group_label(&dim, &grp),
                    m(&dim, &grp, Measure::Allegations),
                );
            }
            for (dim, grp) in breakdown(allegations, &["category", "race"]) {
                s.proportion(
                    IndicatorId::ComplaintsSustainRate,
                    p,
                    &group_label(&dim, &grp),
                    m(&dim, &grp, Measure::Sustained),
                    m(&dim, &grp, Measure::WithFinding),
                    "allegations with a final finding",
                );
            }
            // What followed a sustained allegation, where the profile maps the source's discipline codes.
            if has_outcomes {
                for (dim, grp) in breakdown(allegations, &["race", "officer_race"]) {
                    let decided = m(&dim, &grp, Measure::DisciplineDecided);
                    let what = "sustained allegations with a decided outcome";
                    let g = group_label(&dim, &grp);
                    s.proportion(
                        IndicatorId::ComplaintsDisciplineRate,
                        p,
                        &g,
                        m(&dim, &grp, Measure::Disciplined),
                        decided,
                        what,
                    );
                    s.proportion(
                        IndicatorId::ComplaintsActionRate,
                        p,
                        &g,
                        m(&dim, &grp, Measure::Actioned),
                        decided,
                        what,
                    );
                }
            }
        }
    }
}
