//! The README's config table ("The reorg-watchdog") lists exactly the watchdog's keys, each
//! with its real flag and variable and its real default (checked by
//! `hnsfleet_testkit::readme`).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hnsfleet_reorg_watchdog::cli::WatchdogArgs;
use hnsfleet_reorg_watchdog::config::WatchdogConfig;
use hnsfleet_service_kit::config::flag_names;

const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"));

#[test]
fn readme_config_table_lists_exactly_the_keys_flags_variables_and_defaults() {
    hnsfleet_testkit::readme::assert_config_table(
        README,
        "The reorg-watchdog",
        &serde_json::to_value(WatchdogConfig::default()).unwrap(),
        &flag_names::<WatchdogArgs>(),
    );
}
