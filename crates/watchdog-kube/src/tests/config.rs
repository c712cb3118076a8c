//! The CRD as the chart ships it, and the `kube_*` configuration.

use std::time::Duration;

use crate::{CRD_PATH, Enabled, KubeConfig, crd_yaml};

#[test]
fn the_chart_crd_is_the_one_the_derive_renders() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(CRD_PATH);
    let shipped = std::fs::read_to_string(&path).unwrap();
    assert!(
        shipped == crd_yaml().unwrap(),
        "{CRD_PATH} is stale: regenerate it with \
         `cargo run -p hnsfleet-watchdog-kube --example crd > {CRD_PATH}`"
    );
}

#[test]
fn the_crd_has_a_status_subresource_and_the_status_fields() {
    let yaml = crd_yaml().unwrap();
    for needle in [
        "name: reorgwatches.hnsfleet.io",
        "scope: Namespaced",
        "name: v1alpha1",
        "status: {}",
        "rootHeight:",
        "frozenSince:",
        "agreeingBlocks:",
        "observedSequence:",
        "lastTransitionTime:",
        "leader:",
        "sources:",
    ] {
        assert!(yaml.contains(needle), "missing {needle:?}");
    }
}

#[test]
fn defaults_are_valid_and_documented_values() {
    let config = KubeConfig::default();
    config.validate().unwrap();
    assert_eq!(config.kube_enabled, Enabled::Auto);
    assert_eq!(config.kube_lease, "hnsfleet-watchdog");
    assert_eq!(config.kube_lease_duration, Duration::from_secs(15));
    assert_eq!(config.kube_renew_interval, Duration::from_secs(5));
    assert_eq!(config.kube_resource, "hnsfleet");
}

#[test]
fn auto_runs_only_in_a_cluster_and_names_the_pod() {
    let config = KubeConfig::default();
    assert_eq!(config.resolve(&[("HOSTNAME", "laptop")]).unwrap(), None);
    let settings = config
        .resolve(&[
            ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
            ("POD_NAME", "watchdog-7d9f-abcde"),
            ("POD_NAMESPACE", "hns"),
            ("HOSTNAME", "ignored"),
        ])
        .unwrap()
        .unwrap();
    assert_eq!(settings.identity, "watchdog-7d9f-abcde");
    assert_eq!(settings.namespace.as_deref(), Some("hns"));
    assert_eq!(settings.step_down_after(), Duration::from_secs(11));
    // HOSTNAME (a pod's name) when POD_NAME is not passed.
    let settings = config
        .resolve(&[
            ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
            ("HOSTNAME", "watchdog-0"),
        ])
        .unwrap()
        .unwrap();
    assert_eq!(settings.identity, "watchdog-0");
    assert_eq!(settings.namespace, None);
}

#[test]
fn explicit_switches_win_over_detection() {
    let never = KubeConfig {
        kube_enabled: Enabled::Never,
        ..KubeConfig::default()
    };
    assert_eq!(
        never
            .resolve(&[("KUBERNETES_SERVICE_HOST", "10.96.0.1"), ("POD_NAME", "a")])
            .unwrap(),
        None
    );
    let always = KubeConfig {
        kube_enabled: Enabled::Always,
        ..KubeConfig::default()
    };
    let error = always.resolve(&[("PATH", "/bin")]).unwrap_err();
    assert!(error.to_string().contains("kube_identity"), "{error}");
    let named = KubeConfig {
        kube_identity: Some("dev".to_owned()),
        kube_namespace: Some("ops".to_owned()),
        ..always
    };
    let settings = named.resolve(&[("POD_NAME", "ignored")]).unwrap().unwrap();
    assert_eq!(
        (settings.identity.as_str(), settings.namespace.as_deref()),
        ("dev", Some("ops"))
    );
}

#[test]
fn unsafe_timings_are_refused_naming_the_key() {
    let cases = [
        (
            KubeConfig {
                kube_step_down_margin: Duration::from_secs(2),
                ..KubeConfig::default()
            },
            "kube_step_down_margin",
        ),
        (
            KubeConfig {
                kube_lease_duration: Duration::from_secs(10),
                ..KubeConfig::default()
            },
            "kube_lease_duration",
        ),
        (
            KubeConfig {
                kube_lease_duration: Duration::from_millis(15_500),
                ..KubeConfig::default()
            },
            "kube_lease_duration",
        ),
        (
            KubeConfig {
                kube_renew_interval: Duration::ZERO,
                ..KubeConfig::default()
            },
            "kube_renew_interval",
        ),
        (
            KubeConfig {
                kube_lease: "Not_A_Name".to_owned(),
                ..KubeConfig::default()
            },
            "kube_lease",
        ),
    ];
    for (config, key) in cases {
        let error = config.validate().unwrap_err();
        assert!(error.to_string().contains(key), "{key}: {error}");
    }
}

#[test]
fn reads_from_toml_with_human_durations() {
    let config: KubeConfig = toml::from_str(
        "kube_enabled = true\nkube_lease_duration = \"30s\"\nkube_renew_interval = \"10s\"\nkube_namespace = \"hns\"\n",
    )
    .unwrap();
    assert_eq!(config.kube_enabled, Enabled::Always);
    assert_eq!(config.kube_lease_duration, Duration::from_secs(30));
    assert_eq!(config.kube_namespace.as_deref(), Some("hns"));
    config.validate().unwrap();
    for (text, enabled) in [
        ("\"auto\"", Enabled::Auto),
        ("false", Enabled::Never),
        ("\"false\"", Enabled::Never),
    ] {
        let config: KubeConfig = toml::from_str(&format!("kube_enabled = {text}")).unwrap();
        assert_eq!(config.kube_enabled, enabled);
    }
    assert!(toml::from_str::<KubeConfig>("kube_enabled = \"sometimes\"").is_err());
    // Written back the way it is read.
    let written = toml::to_string(&KubeConfig::default()).unwrap();
    assert!(written.contains("kube_enabled = \"auto\""), "{written}");
    assert_eq!(
        toml::from_str::<KubeConfig>(&written).unwrap(),
        KubeConfig::default()
    );
}
