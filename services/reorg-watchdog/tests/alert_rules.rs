//! The alert rules (`helm/hnsfleet/files/alerts/reorg-watchdog.rules.yaml`) against what the
//! watchdog really exports: every metric they name is exported, and every label they group,
//! match or print is one of those metrics' labels or one Prometheus adds to a scraped target.
//! (promtool checks the syntax and the rules' behaviour: `scripts/check-alerts.sh`.)
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

const RULES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../helm/hnsfleet/files/alerts/reorg-watchdog.rules.yaml"
));

/// Labels a scrape adds (the ServiceMonitor's `namespace`, `pod`, `job`, `instance`), and the
/// alert's own name.
const TARGET_LABELS: [&str; 5] = ["namespace", "pod", "job", "instance", "alertname"];

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The rules file without its `#` comments (whole-line ones: the rules' own text has none).
fn rules_text() -> String {
    RULES
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `expr:` of every rule (folded onto one line each).
fn exprs(text: &str) -> Vec<String> {
    let mut exprs = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(first) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        let mut expr = first.trim().trim_start_matches(">-").to_string();
        while let Some(next) = lines.peek() {
            if next.len() - next.trim_start().len() <= indent {
                break;
            }
            expr.push(' ');
            expr.push_str(next.trim());
            lines.next();
        }
        exprs.push(expr.trim().to_string());
    }
    exprs
}

/// Every `hnsfleet_*` identifier.
fn metric_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !is_ident(c))
        .filter(|word| word.starts_with("hnsfleet_"))
        .map(str::to_string)
        .collect()
}

/// Label names in an expression's `by (...)` / `without (...)` / `on (...)` lists and
/// `{name="..."}` matchers.
fn expr_label_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for keyword in ["by (", "without (", "on (", "ignoring ("] {
        for (start, _) in text.match_indices(keyword) {
            let list = &text[start + keyword.len()..];
            let list = &list[..list.find(')').unwrap()];
            names.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
            );
        }
    }
    for (start, _) in text.match_indices('{') {
        let after = &text[start + 1..];
        let matchers = &after[..after.find('}').unwrap()];
        for matcher in matchers.split(',') {
            let name = matcher.trim().split(['=', '!']).next().unwrap().trim();
            names.insert(name.to_string());
        }
    }
    names
}

/// Label names printed by annotation templates (`{{ $labels.name }}`).
fn template_label_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (start, _) in text.match_indices("$labels.") {
        let rest = &text[start + "$labels.".len()..];
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        names.insert(rest[..end].to_string());
    }
    names
}

#[test]
fn alert_rules_use_only_exported_metrics_and_their_labels() {
    let registry = common::registry();
    let families = registry.gather();
    let exported: BTreeSet<String> = families.iter().map(|f| f.name().to_string()).collect();
    let text = rules_text();

    let used = metric_names(&text);
    assert!(used.len() >= 9, "{used:?}");
    for name in &used {
        assert!(
            exported.contains(name),
            "the rules use {name}, which is not exported"
        );
    }

    let mut labels: BTreeSet<String> = TARGET_LABELS.iter().map(|l| l.to_string()).collect();
    for family in families.iter().filter(|f| used.contains(f.name())) {
        for metric in family.get_metric() {
            labels.extend(metric.get_label().iter().map(|l| l.name().to_string()));
        }
    }
    let exprs = exprs(&text);
    assert_eq!(exprs.len(), text.matches("- alert:").count(), "{exprs:?}");
    let mut referenced = template_label_names(&text);
    for expr in &exprs {
        referenced.extend(expr_label_names(expr));
    }
    for label in [
        "source",
        "health",
        "reason",
        "operation",
        "namespace",
        "job",
    ] {
        assert!(
            referenced.contains(label),
            "{label} not seen: {referenced:?}"
        );
    }
    for label in &referenced {
        assert!(
            labels.contains(label),
            "the rules use the label {label}, which none of their metrics has ({labels:?})"
        );
    }
}

#[test]
fn the_scanners_see_what_they_must() {
    let rules = r#"
      - alert: A
        expr: >-
          sum by (namespace, source)
            (rate(x{reason=~"a|b", health!="h"}[5m])) > 0
        for: 5m
        annotations:
          summary: "{{ $labels.pod }} {{ $value }} (or a chain split)"
      - alert: B
        expr: max without (instance) (y) == 1
"#;
    let exprs = exprs(rules);
    assert_eq!(
        exprs,
        [
            r#"sum by (namespace, source) (rate(x{reason=~"a|b", health!="h"}[5m])) > 0"#,
            "max without (instance) (y) == 1"
        ]
    );
    let names: BTreeSet<String> = exprs.iter().flat_map(|e| expr_label_names(e)).collect();
    let expected: BTreeSet<String> = ["health", "instance", "namespace", "reason", "source"]
        .map(String::from)
        .into();
    assert_eq!(names, expected);
    assert_eq!(
        template_label_names(rules),
        BTreeSet::from(["pod".to_string()])
    );
}
