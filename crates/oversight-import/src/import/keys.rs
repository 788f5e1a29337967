//! The record-key rules of a batch: a key repeated within it, and a key other batches hold.

use super::pipeline::MapStats;
use crate::ImportError;
use crate::profile::Profile;
use oversight_core::Table;
use oversight_store::Ingest;

/// The record-key rules: a key on several rows of the batch, and a key other batches hold. Returns the
/// records superseded in other batches and the rows this batch rejected for their keys.
pub(super) fn check_keys(
    ing: &mut Ingest<'_>,
    profile: &Profile,
    table: Table,
    stats: &mut MapStats,
    warnings: &mut Vec<String>,
) -> Result<(i64, i64), ImportError> {
    let key_fields = table.key_fields();
    if key_fields.is_empty() {
        return Ok((0, 0));
    }
    let may_repeat = stats.keys_may_repeat();
    let unmapped: Vec<&str> = key_fields.iter().copied().filter(|f| !profile.toml.fields.contains_key(*f)).collect();
    if !unmapped.is_empty() {
        warnings.push(format!(
            "the profile maps no {} (the record key of {table} is {}): rows that repeat a record cannot be found",
            unmapped.join(" or "),
            key_fields.join(" + ")
        ));
        return Ok((0, 0));
    }
    let label = key_fields
        .iter()
        .map(|f| match profile.toml.fields.get(*f) {
            Some(crate::profile::FieldSpec::Column(c)) => c.clone(),
            Some(spec) => spec.full().column.unwrap_or_else(|| (*f).to_owned()),
            None => (*f).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" + ");
    let mut dropped: Vec<i64> = Vec::new();
    let list = |lines: &[i64]| {
        let shown: Vec<String> = lines.iter().take(10).map(i64::to_string).collect();
        let more = if lines.len() > 10 { format!(" and {} more", lines.len() - 10) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    use crate::profile::{ExistingAction, RepeatAction};
    let repeated = if may_repeat { ing.repeated_keys(table)? } else { Vec::new() };
    for rk in repeated {
        let n = rk.lines.len();
        let (drop, kept): (&[i64], Option<i64>) = match profile.toml.keys.repeat {
            RepeatAction::Reject => (&rk.lines, None),
            RepeatAction::First => (&rk.lines[1..], Some(rk.lines[0])),
            RepeatAction::Last => (&rk.lines[..n - 1], Some(rk.lines[n - 1])),
        };
        for &line in drop {
            let others: Vec<i64> = rk.lines.iter().copied().filter(|&l| l != line).collect();
            let reason = match kept {
                None => format!(
                    "record key {} repeats: also on line(s) {} (all rejected: never guessed which is right; a file with \
                     one row per child needs [group] by, a file of updates [keys] repeat = \"last\")",
                    rk.key,
                    list(&others)
                ),
                Some(k) => format!("record key {} repeats: line {k} is kept ([keys] repeat)", rk.key),
            };
            ing.reject(0, line, Some(&label), Some(&rk.key), &reason)?;
        }
        dropped.extend_from_slice(drop);
        if kept.is_none() {
            stats.keys.remove(&rk.key);
        }
    }
    ing.remove_rows(table, &dropped)?;
    let mut rejected = dropped.len() as i64;
    let held = ing.keys_held_elsewhere(table)?;
    let mut superseded = 0;
    if !held.is_empty() {
        match profile.toml.keys.existing {
            ExistingAction::Reject => {
                let mut lines = Vec::new();
                for h in &held {
                    if lines.last() == Some(&h.line) {
                        continue;
                    }
                    lines.push(h.line);
                    let reason = format!(
                        "record key {} is already held by batch {} (line {}): imported before? set [keys] existing \
                         = \"supersede\" if this file corrects that one",
                        h.key, h.other_batch, h.other_line
                    );
                    ing.reject(0, h.line, Some(&label), Some(&h.key), &reason)?;
                    stats.keys.remove(&h.key);
                }
                ing.remove_rows(table, &lines)?;
                rejected += lines.len() as i64;
            }
            ExistingAction::Supersede => {
                superseded = ing.supersede_keys(table, profile.dataset.child_tables())?;
            }
        }
    }
    Ok((superseded, rejected))
}
