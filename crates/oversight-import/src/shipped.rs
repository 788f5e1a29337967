//! The profiles that ship with Oversight (`profiles/*.toml`, compiled in) and the canonical profile of each
//! dataset, which reads files already in the canonical columns and codes (what `oversight fixtures` writes).

use crate::{ImportError, Profile};
use oversight_core::{Dataset, FieldType, Table};
use std::fmt::Write as _;
use std::path::Path;

static SHIPPED: &[(&str, &str)] = &[
    ("opp", include_str!("../../../profiles/opp.toml")),
    ("mpls-stops", include_str!("../../../profiles/mpls-stops.toml")),
    ("nypd-shootings", include_str!("../../../profiles/nypd-shootings.toml")),
    ("cpdp-complaints", include_str!("../../../profiles/cpdp-complaints.toml")),
    ("travis-detainers", include_str!("../../../profiles/travis-detainers.toml")),
    ("ice-287g", include_str!("../../../profiles/ice-287g.toml")),
    ("acs-b03002", include_str!("../../../profiles/acs-b03002.toml")),
    ("mpls-demo", include_str!("../../../profiles/mpls-demo.toml")),
    ("ppd-complaints", include_str!("../../../profiles/ppd-complaints.toml")),
];

/// Every shipped profile, then the canonical one of each dataset.
pub fn shipped_profiles() -> Vec<Profile> {
    let mut v: Vec<Profile> = SHIPPED
        .iter()
        .map(|(name, text)| Profile::from_toml(text, name, "shipped").expect("shipped profiles are checked by tests"))
        .collect();
    for d in Dataset::ALL {
        v.push(canonical_profile(*d));
    }
    v
}

/// The TOML of a shipped or canonical profile, for `oversight profiles --show NAME`.
pub fn profile_text(name: &str) -> Option<String> {
    if let Some((_, t)) = SHIPPED.iter().find(|(n, _)| *n == name) {
        return Some((*t).to_owned());
    }
    Dataset::ALL.iter().find(|d| canonical_name(**d) == name).map(|d| canonical_toml(*d))
}

fn canonical_name(d: Dataset) -> String {
    format!("canonical-{}", d.as_str())
}

/// Finds a profile by shipped name, `canonical` (for `dataset`), or path to a TOML file. The profile must
/// be for `dataset` when one is given.
pub fn resolve_profile(name_or_path: &str, dataset: Option<Dataset>) -> Result<Profile, ImportError> {
    let looks_like_path = name_or_path.ends_with(".toml") || name_or_path.contains('/') || name_or_path.contains('\\');
    let profile = if looks_like_path {
        let path = Path::new(name_or_path);
        let text = std::fs::read_to_string(path).map_err(|e| ImportError::io(name_or_path, e))?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "profile".into());
        Profile::from_toml(&text, &stem, &path.display().to_string())?
    } else if name_or_path == "canonical" {
        let d = dataset.ok_or_else(|| ImportError::Usage("the canonical profile needs --dataset".into()))?;
        canonical_profile(d)
    } else {
        let text = profile_text(name_or_path).ok_or_else(|| {
            let names: Vec<String> = shipped_profiles().into_iter().map(|p| p.name).collect();
            ImportError::Usage(format!(
                "no profile named {name_or_path:?} (shipped: {}; or give the path of a .toml file)",
                names.join(", ")
            ))
        })?;
        Profile::from_toml(&text, name_or_path, "shipped")?
    };
    if let Some(d) = dataset
        && profile.dataset != d
    {
        return Err(ImportError::Usage(format!("profile {} is for {}, not {}", profile.name, profile.dataset, d)));
    }
    Ok(profile)
}

/// The canonical profile of a dataset.
pub fn canonical_profile(d: Dataset) -> Profile {
    Profile::from_toml(&canonical_toml(d), &canonical_name(d), "shipped").expect("canonical profiles are valid")
}

fn field_lines(out: &mut String, table: Table, skip: &[&str]) {
    for f in table.fields() {
        if skip.contains(&f.name) || f.name == "flags" {
            continue;
        }
        let extra = match f.ty {
            FieldType::Date => ", format = \"%Y-%m-%d\"",
            FieldType::Time => ", format = [\"%H:%M:%S\", \"%H:%M\"]",
            _ => "",
        };
        let optional = if f.required && f.name != "jurisdiction_id" { "" } else { ", optional = true" };
        let _ = writeln!(out, "{} = {{ column = \"{}\"{extra}{optional} }}", f.name, f.name);
    }
}

/// The allowed codes of each coded field of a dataset, with their meanings, as TOML comments.
fn codes_comment(d: Dataset) -> String {
    let mut s = String::from("# Coded fields take these codes (map a source's own values to them with `map`):\n");
    let mut lists_done: Vec<&str> = Vec::new();
    for t in d.tables() {
        for f in t.fields() {
            let FieldType::Code(list) = f.ty else { continue };
            let _ = writeln!(s, "#   {}.{} ({list}): {}", t.name(), f.name, f.description);
            if lists_done.contains(&list) {
                let _ = writeln!(s, "#     the {list} codes above");
                continue;
            }
            lists_done.push(list);
            for (code, meaning) in oversight_core::code_list_meanings(list).unwrap_or_default() {
                if meaning.is_empty() {
                    let _ = writeln!(s, "#     {code}");
                } else {
                    let _ = writeln!(s, "#     {code}: {meaning}");
                }
            }
            if list == "race" {
                let _ = writeln!(
                    s,
                    "#     (a race map may also name a finer category, counted under its race: {})",
                    oversight_core::code_list_values("race_detail").unwrap_or_default().join(", ")
                );
            }
        }
    }
    s.push('\n');
    s
}

fn canonical_toml(d: Dataset) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Files already in Oversight's canonical columns and codes (as `oversight fixtures` writes them)."
    );
    let _ = writeln!(s, "name = \"{}\"", canonical_name(d));
    let _ = writeln!(s, "title = \"Canonical {} CSV\"", d.as_str());
    let _ = writeln!(s, "dataset = \"{}\"", d.as_str());
    let _ = writeln!(
        s,
        "description = \"Columns named as the canonical model names them; codes in canonical form (any case); \
         dates YYYY-MM-DD, times HH:MM[:SS]. Every column but the required ones may be absent.\"\n"
    );
    s.push_str(&codes_comment(d));
    let main = d.main_table();
    if d == Dataset::Complaints {
        s.push_str("[[files]]\nrole = \"complaints\"\nmatch = \"*complaints*\"\n\n");
        s.push_str("[[files]]\nrole = \"allegations\"\nmatch = \"*allegations*\"\nkey = \"complaint_id\"\n\n");
    }
    s.push_str("[fields]\n");
    // A jurisdiction_id column is used when present; --jurisdiction overrides it.
    s.push_str("jurisdiction_id = { column = \"jurisdiction_id\" }\n");
    field_lines(&mut s, main, &["jurisdiction_id"]);
    s.push_str(
        "\n# Attributes of the jurisdictions the rows create, where the file has them.\n[jurisdiction_fields]\n",
    );
    for a in ["name", "kind", "parent", "timezone", "lat", "lng"] {
        let _ = writeln!(s, "{a} = {{ column = \"jurisdiction_{a}\", optional = true }}");
    }
    for child in d.child_tables() {
        let _ =
            writeln!(s, "\n[children.{}]\nfile = \"allegations\"\n\n[children.{}.fields]", child.name(), child.name());
        field_lines(&mut s, *child, &["jurisdiction_id"]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_and_canonical_profile_loads() {
        let all = shipped_profiles();
        assert_eq!(all.len(), SHIPPED.len() + Dataset::ALL.len());
        for p in &all {
            assert!(!p.title().is_empty(), "{}", p.name);
        }
    }

    #[test]
    fn profiles_resolve_by_name_canonical_or_path_and_must_fit_the_dataset() {
        assert_eq!(resolve_profile("opp", Some(Dataset::Stops)).unwrap().name, "opp");
        assert_eq!(resolve_profile("canonical", Some(Dataset::Detainers)).unwrap().name, "canonical-detainers");
        let e = resolve_profile("opp", Some(Dataset::Detainers)).unwrap_err().to_string();
        assert!(e.contains("is for stops, not detainers"), "{e}");
        let e = resolve_profile("nope", None).unwrap_err().to_string();
        assert!(e.contains("no profile named") && e.contains("travis-detainers"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mine.toml");
        std::fs::write(&p, "dataset = 'populations'\n[fields]\nyear='y'\ngroup='g'\npopulation='p'\n").unwrap();
        assert_eq!(resolve_profile(p.to_str().unwrap(), None).unwrap().name, "mine");
    }
}
