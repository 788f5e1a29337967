//! The vocabulary the metric code speaks: indicator ids and the daily cube's measures, as types. A misspelt
//! measure or indicator does not compile; text from outside (a URL, the cube's `measure` column) becomes one
//! through `parse`, and an unknown one is an error there, at the edge.

/// An enum of names with their text: `ALL` in declaration order, `as_str`, `parse`, `Display`,
/// `Serialize` as the text.
macro_rules! names {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $v,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$v),*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$v => $s,)*
                }
            }

            /// The value with this text, if there is one.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($s => Some(Self::$v),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self == other.as_str()
            }
        }
    };
}

names! {
    /// An indicator of the catalogue (`oversight_metrics::CATALOG` describes each, in this order).
    IndicatorId {
        StopsCount = "stops.count",
        StopsRatePer1000 = "stops.rate_per_1000",
        StopsRateRatio = "stops.rate_ratio",
        StopsSearchRate = "stops.search_rate",
        StopsSearchRateRatio = "stops.search_rate_ratio",
        StopsArrestRate = "stops.arrest_rate",
        StopsArrestRateRatio = "stops.arrest_rate_ratio",
        StopsCitationRate = "stops.citation_rate",
        StopsCitationRateRatio = "stops.citation_rate_ratio",
        StopsHitRate = "stops.hit_rate",
        StopsHitRateDifference = "stops.hit_rate_difference",
        StopsReferralRate = "stops.referral_rate",
        StopsFriskRate = "stops.frisk_rate",
        StopsFriskRateRatio = "stops.frisk_rate_ratio",
        DetainersCount = "detainers.count",
        DetainersCriminalityShare = "detainers.criminality_share",
        DetainersNoConvictionShare = "detainers.no_conviction_share",
        DetainersOutcomeShare = "detainers.outcome_share",
        DetainersJudicialWarrantShare = "detainers.judicial_warrant_share",
        DetainersCountryShare = "detainers.country_share",
        DetainersSexShare = "detainers.sex_share",
        DetainersRaceShare = "detainers.race_share",
        DetainersDaysHeldMedian = "detainers.days_held_median",
        DetainersDaysHeldMean = "detainers.days_held_mean",
        DetainersFelonyShare = "detainers.felony_share",
        CrimeReportsCount = "crime_reports.count",
        CrimeReportsRaceShare = "crime_reports.race_share",
        ComplaintsCount = "complaints.count",
        AllegationsCount = "allegations.count",
        ComplaintsSustainRate = "complaints.sustain_rate",
        ComplaintsDisciplineRate = "complaints.discipline_rate",
        ComplaintsActionRate = "complaints.action_rate",
        ComplaintsDaysToCloseMedian = "complaints.days_to_close_median",
        ComplaintsDaysToCloseP90 = "complaints.days_to_close_p90",
        ComplaintsOfficers3plus12m = "complaints.officers_3plus_12m",
        QualityRows = "quality.rows",
        QualityUnknownRaceShare = "quality.unknown_race_share",
        QualityRejectedShare = "quality.rejected_share",
        QualityLowVolumeMonths = "quality.low_volume_months",
    }
}

names! {
    /// A measure of the daily cube: a number summed per day and group (most count records with a flag set).
    Measure {
        /// Stops (every stop record).
        Stops = "stops",
        /// Stops whose search status is recorded.
        SearchKnown = "search_known",
        /// Stops with a search.
        Searches = "searches",
        /// Searches whose result is recorded.
        FoundKnown = "found_known",
        /// Searches that found contraband.
        Found = "found",
        /// Stops whose frisk status is recorded.
        FriskKnown = "frisk_known",
        /// Stops with a frisk (a pat-down of the person).
        Frisks = "frisks",
        /// Stops whose arrest status is recorded.
        ArrestKnown = "arrest_known",
        /// Stops ending in an arrest.
        Arrests = "arrests",
        /// Stops whose citation status is recorded.
        CitationKnown = "citation_known",
        /// Stops with a citation.
        Citations = "citations",
        /// Stops whose referral status is recorded.
        ReferralKnown = "referral_known",
        /// Stops with a referral to immigration authorities.
        Referrals = "referrals",
        /// Records (detainer requests, crime reports, complaints).
        Count = "count",
        /// Allegations.
        Allegations = "allegations",
        /// Allegations with a final finding (not pending).
        WithFinding = "with_finding",
        /// Allegations sustained.
        Sustained = "sustained",
        /// Sustained allegations whose outcome for the officer is decided (disciplined, corrective or none).
        DisciplineDecided = "discipline_decided",
        /// Sustained allegations followed by discipline.
        Disciplined = "disciplined",
        /// Sustained allegations followed by discipline or corrective action (training, counseling).
        Actioned = "actioned",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for id in IndicatorId::ALL {
            assert_eq!(IndicatorId::parse(id.as_str()), Some(*id));
        }
        for m in Measure::ALL {
            assert_eq!(Measure::parse(m.as_str()), Some(*m));
        }
        assert_eq!(IndicatorId::parse("stops.serch_rate"), None);
        assert_eq!(Measure::parse("serches"), None);
    }
}
