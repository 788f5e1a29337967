//! Code lists: the closed sets of values that canonical columns take. Importers map each source's codes into
//! these (keeping the raw code beside), indicators group by them, and the API documents them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A value that is not in a code list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {list} code (expected one of: {expected})")]
pub struct UnknownCode {
    pub list: &'static str,
    pub value: String,
    pub expected: String,
}

/// Behaviour shared by every code list.
pub trait CodeList: Sized + Copy + 'static {
    /// Name of the list, as profiles and documentation call it.
    const LIST: &'static str;
    /// Every member, in documentation order.
    const ALL: &'static [Self];
    /// The canonical text of the code, as stored in the database.
    fn as_str(self) -> &'static str;
    /// Parses the canonical text (exact match).
    fn parse_code(s: &str) -> Result<Self, UnknownCode> {
        Self::ALL.iter().copied().find(|c| c.as_str() == s).ok_or_else(|| UnknownCode {
            list: Self::LIST,
            value: s.to_owned(),
            expected: Self::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
        })
    }
    /// The canonical texts of every member.
    fn all_strs() -> Vec<&'static str> {
        Self::ALL.iter().map(|c| c.as_str()).collect()
    }
    /// What the code means, where its documentation says more than its text (lines of the doc comment).
    fn meaning(self) -> &'static str;
    /// Every member's text with its meaning (one line; empty where the text says it all).
    fn all_meanings() -> Vec<(&'static str, String)> {
        Self::ALL.iter().map(|c| (c.as_str(), c.meaning().split_whitespace().collect::<Vec<_>>().join(" "))).collect()
    }
}

macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident, $list:literal { $($(#[doc = $vdoc:literal])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[doc = $vdoc])* $variant),+ }

        impl CodeList for $name {
            const LIST: &'static str = $list;
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            fn meaning(self) -> &'static str {
                match self { $(Self::$variant => concat!($($vdoc, "\n",)* "")),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> { Self::parse_code(s) }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse_code(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

code_list!(
    /// Race/ethnicity, as the Stanford Open Policing Project standardises it. Hispanic ethnicity takes
    /// precedence over race.
    Race, "race" {
        AsianPacificIslander = "asian/pacific islander",
        Black = "black",
        Hispanic = "hispanic",
        White = "white",
        Other = "other",
        Unknown = "unknown",
    }
);

code_list!(
    /// Finer race/ethnicity categories some sources record (for example California's RIPA). Each rolls up to a
    /// [`Race`].
    RaceDetail, "race_detail" {
        Asian = "asian",
        PacificIslander = "pacific islander",
        MiddleEasternSouthAsian = "middle eastern/south asian",
        NativeAmerican = "native american",
        Multiracial = "multiracial",
        EastAfrican = "east african",
    }
);

impl RaceDetail {
    /// The canonical category this finer one is counted under.
    pub fn rollup(self) -> Race {
        match self {
            Self::Asian | Self::PacificIslander => Race::AsianPacificIslander,
            Self::EastAfrican => Race::Black,
            Self::MiddleEasternSouthAsian | Self::NativeAmerican | Self::Multiracial => Race::Other,
        }
    }
}

code_list!(
    /// Recorded sex.
    Sex, "sex" { Male = "male", Female = "female", Other = "other", Unknown = "unknown" }
);

code_list!(
    /// Kind of stop.
    StopType, "stop_type" { Vehicular = "vehicular", Pedestrian = "pedestrian", Other = "other" }
);

code_list!(
    /// The strictest action taken at a stop.
    StopOutcome, "stop_outcome" {
        Arrest = "arrest", Summons = "summons", Citation = "citation", Warning = "warning", NoAction = "no_action",
    }
);

code_list!(
    /// Legal basis of a search.
    SearchBasis, "search_basis" {
        K9 = "k9", PlainView = "plain view", Consent = "consent", ProbableCause = "probable cause", Other = "other",
    }
);

code_list!(
    /// Criminal history class ICE (or the source) assigns to the person a detainer names.
    Criminality, "criminality" {
        Convicted = "convicted",
        PendingCharges = "pending_charges",
        OtherImmigrationViolator = "other_immigration_violator",
        Unknown = "unknown",
    }
);

code_list!(
    /// What became of a detainer request.
    DetainerOutcome, "detainer_outcome" {
        /// The person was handed over to ICE.
        Honored = "honored",
        /// The agency refused the request.
        Declined = "declined",
        /// ICE withdrew the request.
        Lifted = "lifted",
        /// Still in custody with the request pending.
        Active = "active",
        /// Released without hand-over for another reason (bond, sentence served, charges dropped).
        Released = "released",
        Unknown = "unknown",
    }
);

code_list!(
    /// The form of an immigration hold.
    DetainerType, "detainer_type" {
        /// I-247A immigration detainer (request to hold).
        Detainer = "detainer",
        /// I-247N request for advance notification of release.
        NotificationRequest = "notification_request",
        /// I-247X request for voluntary transfer.
        TransferRequest = "transfer_request",
        Other = "other",
        Unknown = "unknown",
    }
);

code_list!(
    /// Severity class of a criminal charge.
    ChargeSeverity, "charge_severity" {
        Felony = "felony", Misdemeanor = "misdemeanor", Other = "other", None = "none", Unknown = "unknown",
    }
);

code_list!(
    /// Finding on a complaint allegation.
    Finding, "finding" {
        Sustained = "sustained",
        NotSustained = "not_sustained",
        Exonerated = "exonerated",
        Unfounded = "unfounded",
        /// Closed because no sworn affidavit was obtained (Chicago's `NAF`).
        NoAffidavit = "no_affidavit",
        AdministrativelyClosed = "administratively_closed",
        Pending = "pending",
        Other = "other",
    }
);

code_list!(
    /// What followed a complaint allegation for the officer, as the profile maps the source's own codes (a
    /// source's "counseling" or "training" is corrective, not discipline, unless its profile says otherwise).
    DisciplineOutcome, "discipline_outcome" {
        /// A disciplinary penalty: reprimand, suspension, demotion, dismissal, a guilty finding at a hearing.
        Disciplined = "disciplined",
        /// Training or counseling: action taken, not discipline.
        Corrective = "corrective",
        /// Decided, no action.
        NoAction = "none",
        Pending = "pending",
        Unknown = "unknown",
    }
);

code_list!(
    /// Kind of policy event an impact analysis can be run around.
    PolicyKind, "policy_kind" {
        JailModel287g = "287g_jail_model",
        TaskForce287g = "287g_task_force",
        WarrantServiceOfficer287g = "287g_warrant_service_officer",
        DetainerPolicy = "detainer_policy",
        SanctuaryPolicy = "sanctuary_policy",
        StateLaw = "state_law",
        Mou = "mou",
        Training = "training",
        Other = "other",
    }
);

code_list!(
    /// Kind of jurisdiction.
    JurisdictionKind, "jurisdiction_kind" {
        State = "state", County = "county", City = "city", Agency = "agency", Neighborhood = "neighborhood",
        District = "district", Other = "other",
    }
);

/// The codes of a list with their meanings, for `oversight profiles --show canonical-*`.
pub fn code_list_meanings(list: &str) -> Option<Vec<(&'static str, String)>> {
    Some(match list {
        "race" => Race::all_meanings(),
        "race_detail" => RaceDetail::all_meanings(),
        "sex" => Sex::all_meanings(),
        "stop_type" => StopType::all_meanings(),
        "stop_outcome" => StopOutcome::all_meanings(),
        "search_basis" => SearchBasis::all_meanings(),
        "criminality" => Criminality::all_meanings(),
        "detainer_outcome" => DetainerOutcome::all_meanings(),
        "detainer_type" => DetainerType::all_meanings(),
        "charge_severity" => ChargeSeverity::all_meanings(),
        "finding" => Finding::all_meanings(),
        "discipline_outcome" => DisciplineOutcome::all_meanings(),
        "policy_kind" => PolicyKind::all_meanings(),
        "jurisdiction_kind" => JurisdictionKind::all_meanings(),
        _ => return None,
    })
}

/// Looks up a code by name of list, for profiles and documentation: the canonical texts of `list`.
pub fn code_list_values(list: &str) -> Option<Vec<&'static str>> {
    Some(match list {
        "race" => Race::all_strs(),
        "race_detail" => RaceDetail::all_strs(),
        "sex" => Sex::all_strs(),
        "stop_type" => StopType::all_strs(),
        "stop_outcome" => StopOutcome::all_strs(),
        "search_basis" => SearchBasis::all_strs(),
        "criminality" => Criminality::all_strs(),
        "detainer_outcome" => DetainerOutcome::all_strs(),
        "detainer_type" => DetainerType::all_strs(),
        "charge_severity" => ChargeSeverity::all_strs(),
        "finding" => Finding::all_strs(),
        "discipline_outcome" => DisciplineOutcome::all_strs(),
        "policy_kind" => PolicyKind::all_strs(),
        "jurisdiction_kind" => JurisdictionKind::all_strs(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_text() {
        for r in Race::ALL {
            assert_eq!(Race::parse_code(r.as_str()).unwrap(), *r);
        }
        assert_eq!("287g_jail_model".parse::<PolicyKind>().unwrap(), PolicyKind::JailModel287g);
    }

    #[test]
    fn unknown_codes_name_the_list_and_the_expected_values() {
        let e = "purple".parse::<Race>().unwrap_err();
        assert!(e.to_string().contains("not a race code"), "{e}");
        assert!(e.to_string().contains("asian/pacific islander"), "{e}");
    }

    #[test]
    fn finer_race_categories_roll_up_to_canonical_ones() {
        assert_eq!(RaceDetail::EastAfrican.rollup(), Race::Black);
        assert_eq!(RaceDetail::PacificIslander.rollup(), Race::AsianPacificIslander);
        assert_eq!(RaceDetail::NativeAmerican.rollup(), Race::Other);
    }

    #[test]
    fn every_code_list_is_reachable_by_name() {
        for list in ["race", "race_detail", "sex", "finding", "discipline_outcome", "policy_kind", "detainer_outcome"] {
            assert!(code_list_values(list).is_some(), "{list}");
        }
        assert!(code_list_values("nope").is_none());
    }
}
