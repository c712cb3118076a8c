//! The README's config tables (one per service, columns key / flag / env / default) checked
//! against the code, so the README and the service cannot drift: the keys come from the
//! serialized default config, the flags from the clap command, the variables from the
//! loader's naming rule.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use hnsfleet_service_kit::config::env_name;

/// The header of a service's config table.
pub const HEADER: &str = "| key (TOML) | flag | env | default |";
/// Flags that are not config keys.
const NOT_KEYS: [&str; 2] = ["--config", "--check-config"];

/// One table row: the backticked words of each cell.
struct Row {
    keys: Vec<String>,
    flags: Vec<String>,
    envs: Vec<String>,
    default: String,
}

/// The cells of a markdown table row (`\|` is a pipe inside a cell).
fn cells(line: &str) -> Vec<String> {
    let line = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cells.last_mut().unwrap().push('|');
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.iter().map(|c| c.trim().to_string()).collect()
}

fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

fn table(readme: &str, section: &str) -> Vec<Row> {
    let section = readme
        .split(&format!("\n## {section}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("README section {section:?}"));
    let section = section.split("\n## ").next().unwrap();
    let mut lines = section
        .lines()
        .skip_while(|l| l.trim() != HEADER)
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    let mut rows = Vec::new();
    for line in lines.by_ref() {
        let [key, flag, env, default] =
            <[String; 4]>::try_from(cells(line)).unwrap_or_else(|c| panic!("not 4 cells: {c:?}"));
        rows.push(Row {
            keys: code_spans(&key),
            flags: code_spans(&flag)
                .into_iter()
                .filter(|f| f.starts_with("--"))
                .map(|f| f.split_whitespace().next().unwrap().to_string())
                .collect(),
            envs: code_spans(&env)
                .into_iter()
                .filter(|e| e.starts_with("HNSFLEET_"))
                .collect(),
            default,
        });
    }
    assert!(!rows.is_empty(), "no table under {HEADER}");
    rows
}

/// Asserts that the config table (columns key / flag / env / default) in the `## {section}`
/// section of `readme` lists exactly the keys of `defaults` (the serialized default config),
/// each with its flag from `flags` (key → `--flag`, from `flag_names`), its `HNSFLEET_*`
/// variable and its default; and that every key flag has a row.
pub fn assert_config_table(
    readme: &str,
    section: &str,
    defaults: &serde_json::Value,
    flags: &BTreeMap<String, String>,
) {
    let defaults = defaults
        .as_object()
        .expect("the config serializes to an object");
    let keys: BTreeSet<String> = defaults.keys().cloned().collect();
    let key_flags: BTreeSet<&String> = flags
        .values()
        .filter(|f| !NOT_KEYS.contains(&f.as_str()))
        .collect();

    let mut listed = BTreeSet::new();
    let mut listed_flags = BTreeSet::new();
    for row in table(readme, section) {
        assert_eq!(
            row.keys.len(),
            row.flags.len(),
            "{:?} vs {:?}",
            row.keys,
            row.flags
        );
        assert_eq!(
            row.keys.len(),
            row.envs.len(),
            "{:?} vs {:?}",
            row.keys,
            row.envs
        );
        for ((key, flag), env) in row.keys.iter().zip(&row.flags).zip(&row.envs) {
            assert!(
                keys.contains(key),
                "README lists `{key}`, which is not a config key"
            );
            assert!(listed.insert(key.clone()), "`{key}` listed twice");
            assert_eq!(Some(flag), flags.get(key), "flag of `{key}`");
            listed_flags.insert(flag.clone());
            assert_eq!(env, &env_name(key), "variable of `{key}`");
            // A fixed default is written in the table as the config file spells it.
            let default = match &defaults[key] {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
            if let Some(default) = default {
                assert!(
                    row.default.contains(&default),
                    "`{key}` defaults to {default:?}, README says {:?}",
                    row.default
                );
            }
        }
    }
    let missing: Vec<&String> = keys.difference(&listed).collect();
    assert!(missing.is_empty(), "README table lacks {missing:?}");
    let unlisted: Vec<&&String> = key_flags
        .iter()
        .filter(|f| !listed_flags.contains(**f))
        .collect();
    assert!(
        unlisted.is_empty(),
        "flags without a README row: {unlisted:?}"
    );
    assert_eq!(key_flags.len(), keys.len(), "one flag per key: {flags:?}");
}
