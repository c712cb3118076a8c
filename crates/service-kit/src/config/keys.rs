//! How a config key is spelled in each layer, the environment layer itself, and the
//! "did you mean" hint for unknown names.

use std::collections::{BTreeMap, BTreeSet};

use figment::value::{Dict, Value};

use super::{CONFIG_ENV, ENV_PREFIX, ServiceConfig};

/// `HNSFLEET_<KEY>` of `key`.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// Config key (the clap argument id) → its long flag (`--max-peers`, `--peer`), for every
/// argument of `A` that has a long flag.
pub fn flag_names<A: clap::Args>() -> BTreeMap<String, String> {
    let command = A::augment_args(clap::Command::new("flags"));
    command
        .get_arguments()
        .filter_map(|arg| Some((arg.get_id().to_string(), format!("--{}", arg.get_long()?))))
        .collect()
}

/// Every key of `C`: the fields of its serialized default (`None` fields included).
pub(super) fn known<C: ServiceConfig>() -> BTreeSet<String> {
    match serde_json::to_value(C::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

/// The environment layer: each `HNSFLEET_<KEY>` of a known key (list keys split on commas,
/// empty values left out), and a warning for every other `HNSFLEET_*` variable.
pub(super) fn env_layer(
    vars: &[(String, String)],
    known: &BTreeSet<String>,
    list_keys: &[&str],
) -> (Dict, Vec<String>) {
    let mut dict = Dict::new();
    let mut warnings = Vec::new();
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if name == CONFIG_ENV {
            continue;
        }
        let key = rest.to_ascii_lowercase();
        if !known.contains(&key) || rest != key.to_ascii_uppercase() {
            let hint = closest(&key, known)
                .map(|k| format!(" (did you mean {}?)", env_name(&k)))
                .unwrap_or_default();
            warnings.push(format!(
                "environment variable {name} matches no config key{hint}; ignored"
            ));
            continue;
        }
        if value.is_empty() {
            continue;
        }
        let value = if list_keys.contains(&key.as_str()) {
            let items: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            Value::from(items)
        } else {
            Value::from(value.clone())
        };
        dict.insert(key, value);
    }
    (dict, warnings)
}

/// The known key closest to `key` when it looks like a typo or a renamed key (one a prefix
/// of the other, or at most 2 edits apart and a third of its length).
pub(super) fn closest(key: &str, known: &BTreeSet<String>) -> Option<String> {
    known
        .iter()
        .filter_map(|k| {
            let affix = key.starts_with(k.as_str()) || k.starts_with(key);
            let distance = edit_distance(key, k);
            (affix || distance <= (key.len() / 3).min(2)).then_some((!affix, distance, k))
        })
        .min()
        .map(|(_, _, k)| k.clone())
}

/// Levenshtein distance over bytes (keys are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j] + 1).min(row[j + 1] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}
