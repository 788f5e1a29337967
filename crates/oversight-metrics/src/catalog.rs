//! The catalogue of indicators: what each one measures, how, with which interval, over which groups, from
//! which data, and what to keep in mind when reading it. `oversight indicators` prints it; the API serves it.

use oversight_core::IndicatorId;
use serde::Serialize;

/// What kind of number an indicator is (drives suppression and reliability rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A count of records.
    Count,
    /// numerator / denominator, both counts of records.
    Proportion,
    /// Events per population (per 1,000 residents per year).
    PopulationRate,
    /// A ratio of two rates or proportions (group vs reference).
    Ratio,
    /// A difference of two proportions (group minus reference).
    Difference,
    /// A quantile of a duration.
    Quantile,
    /// A count of officers (never identities).
    OfficerCount,
    /// A yes/no flag (1/0) about the data.
    Flag,
}

/// One indicator of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    pub id: IndicatorId,
    pub title: &'static str,
    pub dataset: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub definition: &'static str,
    pub formula: &'static str,
    /// Interval method name, as stored in `ci_method` (None: no interval).
    pub ci_method: Option<&'static str>,
    /// Group dimensions the indicator is broken down by (`all` is always there).
    pub groups: &'static [&'static str],
    pub caveats: &'static [&'static str],
}

impl Indicator {
    /// Whether `group` is one the indicator is broken down by (`all`, or `dimension:value` of one of its
    /// dimensions); otherwise why not, naming the ones it has.
    pub fn check_group(&self, group: &str) -> Result<(), String> {
        if group == "all" || group.split_once(':').is_some_and(|(d, v)| self.groups.contains(&d) && !v.is_empty()) {
            return Ok(());
        }
        let dims = self.groups.iter().map(|d| format!("{d}:…")).collect::<Vec<_>>().join(", ");
        Err(format!("{group:?}: {} is broken down by all, {dims}", self.id))
    }
}

const RACE_CAVEAT: &str = "Race/ethnicity is as the source recorded it (often the officer's perception); Hispanic ethnicity takes precedence over race.";
const PERIOD_CAVEAT: &str =
    "Periods at the edges of a source's coverage are partial; rates per resident are annualised over the days covered.";

macro_rules! ind {
    ($id:ident, $title:literal, $ds:literal, $kind:ident, $unit:literal, $ci:expr, [$($g:literal),*], $def:literal, $formula:literal, [$($c:expr),*]) => {
        Indicator { id: IndicatorId::$id, title: $title, dataset: $ds, kind: Kind::$kind, unit: $unit, ci_method: $ci, groups: &[$($g),*], definition: $def, formula: $formula, caveats: &[$($c),*] }
    };
}

/// Every indicator.
pub static CATALOG: &[Indicator] = &[
    ind!(
        StopsCount,
        "Stops",
        "stops",
        Count,
        "stops",
        None,
        ["race", "sex", "age"],
        "Number of stops in the period.",
        "count(stops)",
        [RACE_CAVEAT]
    ),
    ind!(
        StopsRatePer1000,
        "Stops per 1,000 residents per year",
        "stops",
        PopulationRate,
        "stops per 1,000 residents per year",
        Some("poisson-exact-garwood"),
        ["race"],
        "Stops of a group per 1,000 residents of that group, per year of the period covered by the data.",
        "1000 × stops / (residents × days covered / 365.25); residents of the jurisdiction (or of its declared benchmark), nearest census year",
        [
            "Residents are not the people who drive or walk through a place: a benchmark by residents is a rough one, especially for small or heavily commuted jurisdictions.",
            PERIOD_CAVEAT
        ]
    ),
    ind!(
        StopsRateRatio,
        "Stop rate ratio vs reference group",
        "stops",
        Ratio,
        "ratio",
        Some("poisson-log-wald"),
        ["race"],
        "A group's stop rate per resident divided by the reference group's (default white).",
        "(a / t1) / (c / t2), CI exp(ln RR ± 1.96·√(1/a + 1/c)); a, c = stops; t1, t2 = resident-years",
        ["Undefined when either group has no stops.", "Shares the residential-benchmark caveat of the stop rate."]
    ),
    ind!(
        StopsSearchRate,
        "Search rate",
        "stops",
        Proportion,
        "share of stops",
        Some("wilson"),
        ["race", "sex", "age"],
        "Share of stops with a search, among stops whose search status is recorded.",
        "searches / stops with search recorded",
        [RACE_CAVEAT]
    ),
    ind!(
        StopsSearchRateRatio,
        "Search rate ratio vs reference group",
        "stops",
        Ratio,
        "ratio",
        Some("katz-log"),
        ["race"],
        "A group's search rate divided by the reference group's.",
        "(a / n1) / (c / n2), SE(ln RR) = √(1/a − 1/n1 + 1/c − 1/n2)",
        ["A higher search rate alone does not show bias: compare hit rates (the outcome test)."]
    ),
    ind!(
        StopsArrestRate,
        "Arrest rate",
        "stops",
        Proportion,
        "share of stops",
        Some("wilson"),
        ["race", "sex", "age"],
        "Share of stops ending in an arrest (from the arrest flag, or the outcome where there is no flag).",
        "arrests / stops with arrest recorded",
        []
    ),
    ind!(
        StopsArrestRateRatio,
        "Arrest rate ratio vs reference group",
        "stops",
        Ratio,
        "ratio",
        Some("katz-log"),
        ["race"],
        "A group's arrest rate divided by the reference group's.",
        "(a / n1) / (c / n2), Katz log interval",
        []
    ),
    ind!(
        StopsCitationRate,
        "Citation rate",
        "stops",
        Proportion,
        "share of stops",
        Some("wilson"),
        ["race", "sex", "age"],
        "Share of stops with a citation (from the citation flag, or the outcome where there is no flag).",
        "citations / stops with citation recorded",
        []
    ),
    ind!(
        StopsCitationRateRatio,
        "Citation rate ratio vs reference group",
        "stops",
        Ratio,
        "ratio",
        Some("katz-log"),
        ["race"],
        "A group's citation rate divided by the reference group's.",
        "(a / n1) / (c / n2), Katz log interval",
        []
    ),
    ind!(
        StopsHitRate,
        "Hit rate (contraband found per search)",
        "stops",
        Proportion,
        "share of searches",
        Some("wilson"),
        ["race"],
        "Share of searches that found contraband, among searches whose result is recorded.",
        "searches finding contraband / searches with result recorded",
        [
            "Lower hit rates for a group than for the reference suggest a lower bar for searching that group (the outcome test)."
        ]
    ),
    ind!(
        StopsHitRateDifference,
        "Hit rate difference vs reference group",
        "stops",
        Difference,
        "difference in share",
        Some("wald-difference"),
        ["race"],
        "A group's hit rate minus the reference group's.",
        "p1 − p2, CI p1 − p2 ± 1.96·√(p1(1−p1)/n1 + p2(1−p2)/n2)",
        []
    ),
    ind!(
        StopsReferralRate,
        "Immigration referral rate",
        "stops",
        Proportion,
        "share of stops",
        Some("wilson"),
        ["race"],
        "Share of stops where the person was turned over to immigration authorities, where the source records it.",
        "referrals / stops with referral recorded",
        ["Only sources that record referrals (e.g. California's RIPA) have this indicator."]
    ),
    ind!(
        StopsFriskRate,
        "Frisk rate",
        "stops",
        Proportion,
        "share of stops",
        Some("wilson"),
        ["race", "sex", "age"],
        "Share of stops with a frisk (a pat-down of the person), among stops whose frisk status is recorded. \
         Computed only where the source records frisks.",
        "frisks / stops with frisk recorded",
        [RACE_CAVEAT, "Sources differ in what they call a frisk; compare agencies with care."]
    ),
    ind!(
        StopsFriskRateRatio,
        "Frisk rate ratio vs reference group",
        "stops",
        Ratio,
        "ratio",
        Some("katz-log"),
        ["race"],
        "A group's frisk rate divided by the reference group's.",
        "(a / n1) / (c / n2), SE(ln RR) = √(1/a − 1/n1 + 1/c − 1/n2)",
        ["A higher frisk rate alone does not show bias: frisks are meant to follow a suspicion of a weapon, which \
          the records do not hold."]
    ),
    ind!(
        DetainersCount,
        "Detainer requests received",
        "detainers",
        Count,
        "requests",
        None,
        ["criminality", "outcome", "country", "sex", "race"],
        "Number of detainer requests received in the period.",
        "count(detainers)",
        []
    ),
    ind!(
        DetainersCriminalityShare,
        "Share by criminality",
        "detainers",
        Proportion,
        "share of requests",
        Some("wilson"),
        ["criminality"],
        "Share of requests naming a person in each criminal-history class.",
        "requests in class / all requests",
        []
    ),
    ind!(
        DetainersNoConvictionShare,
        "Share with no criminal conviction",
        "detainers",
        Proportion,
        "share of requests",
        Some("wilson"),
        [],
        "Share of requests naming a person with no criminal conviction, among requests whose class is known.",
        "(pending charges + other immigration violators) / requests with known class",
        ["Requests of unknown class are left out of both counts."]
    ),
    ind!(
        DetainersOutcomeShare,
        "Share by outcome",
        "detainers",
        Proportion,
        "share of requests",
        Some("wilson"),
        ["outcome"],
        "Share of requests honored (handed over to ICE), declined, lifted, still active or released otherwise, among requests with a known outcome.",
        "requests with outcome / requests with known outcome",
        []
    ),
    ind!(
        DetainersJudicialWarrantShare,
        "Share with a judicial warrant",
        "detainers",
        Proportion,
        "share of requests",
        Some("wilson"),
        [],
        "Share of requests accompanied by a judge's warrant, where the source says.",
        "with warrant / with warrant status known",
        ["Most sources do not record it."]
    ),
    ind!(
        DetainersCountryShare,
        "Share by country of citizenship",
        "detainers",
        Proportion,
        "share of requests",
        Some("wilson"),
        ["country"],
        "Share of requests by country of citizenship (or of birth where that is all the source has): the top countries over all time, the rest as other.",
        "requests for country / requests with known country",
        []
    ),
    ind!(
        DetainersSexShare,
        "Share by sex",
        "detainers",
        Proportion,
        "share of requests",
        Some("wilson"),
        ["sex"],
        "Share of requests by recorded sex.",
        "requests for sex / requests with known sex",
        []
    ),
    ind!(
        DetainersRaceShare,
        "Share by race or ethnicity",
        "detainers",
        Proportion,
        "share of requests",
        Some("wilson"),
        ["race"],
        "Share of requests by the recorded race or ethnicity of the person named, among requests where it is \
         recorded. Computed only where the source records it (ICE's own releases mostly do not).",
        "requests for the group / requests with a known race",
        [RACE_CAVEAT, "Who is booked into the jail, not who lives there: no population denominator is implied."]
    ),
    ind!(
        DetainersDaysHeldMedian,
        "Median days held",
        "detainers",
        Quantile,
        "days",
        Some("order-statistic"),
        ["race"],
        "Median number of days from booking to release or hand-over of the bookings with an immigration hold that \
         ended in the period; overall and by recorded race. Where the source gives when a booking ended \
         (outcome_date).",
        "median(outcome date − booking date)",
        [
            "Counted by the period the booking ended: people still held are not in it yet.",
            "Time held for the criminal charges is included; sources with bookings without a hold are needed to \
             compare like charges."
        ]
    ),
    ind!(
        DetainersDaysHeldMean,
        "Mean days held",
        "detainers",
        Quantile,
        "days",
        Some("student-t"),
        ["race"],
        "Mean number of days from booking to release or hand-over of the bookings with an immigration hold that \
         ended in the period; overall and by recorded race.",
        "mean(outcome date − booking date), interval x̄ ± t(n−1)·s/√n",
        ["A few long stays pull the mean up: read it beside the median."]
    ),
    ind!(
        DetainersFelonyShare,
        "Share whose most serious charge is a felony",
        "detainers",
        Proportion,
        "share of requests",
        Some("wilson"),
        [],
        "Share of requests whose person's most serious criminal charge is a felony, among requests whose charge severity is known (no charge counts as known).",
        "felony / (felony + misdemeanor + other + no charge)",
        []
    ),
    ind!(
        CrimeReportsCount,
        "Crime reports",
        "crime-reports",
        Count,
        "reports (victims)",
        None,
        ["race", "offense"],
        "Number of crime reports (one per victim) in the period.",
        "count(reports)",
        [RACE_CAVEAT]
    ),
    ind!(
        CrimeReportsRaceShare,
        "Share of reports by victim race/ethnicity",
        "crime-reports",
        Proportion,
        "share of reports",
        Some("wilson"),
        ["race"],
        "Each group's share of all crime reports: the series that shows whether a community stopped reporting.",
        "reports by group / all reports",
        [
            "A fall can also be a change in how race is recorded: read it with the share of unknown race (quality.unknown_race_share)."
        ]
    ),
    ind!(
        ComplaintsCount,
        "Complaints received",
        "complaints",
        Count,
        "complaints",
        None,
        ["race"],
        "Number of complaints received in the period (by complainant race where recorded).",
        "count(complaints)",
        []
    ),
    ind!(
        AllegationsCount,
        "Allegations",
        "complaints",
        Count,
        "allegations",
        None,
        ["category"],
        "Number of allegations in complaints received in the period.",
        "count(allegations)",
        []
    ),
    ind!(
        ComplaintsSustainRate,
        "Sustain rate",
        "complaints",
        Proportion,
        "share of allegations",
        Some("wilson"),
        ["category", "race"],
        "Share of allegations sustained, among allegations with a final finding (pending ones left out), by category and by complainant race.",
        "sustained / allegations with a final finding",
        ["Findings like 'no affidavit' count as not sustained."]
    ),
    ind!(
        ComplaintsDisciplineRate,
        "Discipline after a sustained allegation",
        "complaints",
        Proportion,
        "share of sustained allegations",
        Some("wilson"),
        ["race", "officer_race"],
        "Share of sustained allegations followed by discipline (reprimand, suspension, demotion, dismissal, a guilty \
         finding), among those whose outcome is decided; by complainant race and by the accused officer's race. \
         Computed only where the source's profile maps its discipline codes (discipline_outcome).",
        "disciplined / sustained with outcome disciplined, corrective or none",
        [
            "Training and counseling are corrective, not discipline: see complaints.action_rate for both.",
            "By the complaint's received date: recent sustained allegations are often still pending (left out)."
        ]
    ),
    ind!(
        ComplaintsActionRate,
        "Any action after a sustained allegation",
        "complaints",
        Proportion,
        "share of sustained allegations",
        Some("wilson"),
        ["race", "officer_race"],
        "Share of sustained allegations followed by discipline or by corrective action (training, counseling), \
         among those whose outcome is decided; by complainant race and by the accused officer's race.",
        "(disciplined + corrective) / sustained with outcome disciplined, corrective or none",
        ["Computed only where the source's profile maps its discipline codes."]
    ),
    ind!(
        ComplaintsDaysToCloseMedian,
        "Median days to close",
        "complaints",
        Quantile,
        "days",
        Some("order-statistic"),
        ["race"],
        "Median number of days from receipt to closure of the complaints closed in the period; overall and by \
         complainant race (as the source records it).",
        "median(closed − received)",
        ["Counted by closing period: a backlog closed at once shows as a jump."]
    ),
    ind!(
        ComplaintsDaysToCloseP90,
        "90th percentile of days to close",
        "complaints",
        Quantile,
        "days",
        Some("order-statistic"),
        ["race"],
        "90th percentile of days from receipt to closure of the complaints closed in the period; overall and by \
         complainant race.",
        "quantile(closed − received, 0.9)",
        []
    ),
    ind!(
        ComplaintsOfficers3plus12m,
        "Officers with 3 or more complaints in 12 months",
        "complaints",
        OfficerCount,
        "officers",
        None,
        [],
        "Number of officers named in 3 or more complaints received in the 12 months ending with the period. A count only: no identities are published.",
        "count(officers with ≥ 3 complaints received in (end − 12 months, end])",
        []
    ),
    ind!(
        QualityRows,
        "Records",
        "any",
        Count,
        "records",
        None,
        ["dataset"],
        "Number of records of each dataset in the period.",
        "count(records)",
        []
    ),
    ind!(
        QualityUnknownRaceShare,
        "Share with unknown or missing race",
        "any",
        Proportion,
        "share of records",
        Some("wilson"),
        ["dataset"],
        "Share of records whose race/ethnicity is unknown or missing.",
        "(unknown + missing) / records",
        ["A rising share can make a group's counts fall without any change in behaviour."]
    ),
    ind!(
        QualityRejectedShare,
        "Share of rows rejected at import",
        "any",
        Proportion,
        "share of rows read",
        Some("wilson"),
        ["dataset"],
        "Share of the rows read from the dataset's files that were rejected (all time only).",
        "rows rejected / rows read",
        []
    ),
    ind!(
        QualityLowVolumeMonths,
        "Months with few records",
        "any",
        Flag,
        "months",
        None,
        ["dataset"],
        "Months whose record count falls below the threshold (at least the configured minimum, or half the median month): flagged as Stanford's analyses drop such months. At month grain 1 marks a flagged month; coarser grains count them.",
        "count(months with records < max(minimum, median/2))",
        []
    ),
];

/// The catalogue's entry for an indicator.
pub fn info(id: IndicatorId) -> &'static Indicator {
    &CATALOG[id as usize]
}

/// The indicator with this id (text from outside: a URL, a stored point), if there is one.
pub fn indicator(id: &str) -> Option<&'static Indicator> {
    IndicatorId::parse(id).map(info)
}

/// Indicator ids of a dataset (as its import name; quality indicators belong to every dataset).
pub fn indicators_of(dataset: &str) -> Vec<IndicatorId> {
    CATALOG.iter().filter(|i| i.dataset == dataset).map(|i| i.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_its_entry_and_every_interval_method_is_one_the_stats_crate_names() {
        assert_eq!(CATALOG.len(), IndicatorId::ALL.len());
        for id in IndicatorId::ALL {
            assert_eq!(info(*id).id, *id, "the catalogue is in the order of IndicatorId");
        }
        let methods = [
            "wilson",
            "katz-log",
            "poisson-log-wald",
            "poisson-exact-garwood",
            "wald-difference",
            "order-statistic",
            "student-t",
        ];
        for i in CATALOG {
            if let Some(m) = i.ci_method {
                assert!(methods.contains(&m), "{}: {m}", i.id);
            }
        }
    }
}
