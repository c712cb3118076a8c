//! The Kubernetes keys of the watchdog's configuration, flat and prefixed `kube_` so the
//! service embeds them with `#[serde(flatten)]` (environment: `HNSFLEET_KUBE_*`), and their
//! resolution against the environment: in a cluster or not, the pod's name.

use std::time::Duration;

use hnsfleet_service_kit::config::{ConfigError, Env};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Set in every pod by the kubelet: its presence means "running in a cluster".
pub const IN_CLUSTER_ENV: &str = "KUBERNETES_SERVICE_HOST";
/// The pod's name, as the chart passes it (downward API); `HOSTNAME` is the fallback.
pub const POD_NAME_ENV: &str = "POD_NAME";
/// The pod's namespace, as the chart passes it (downward API).
pub const POD_NAMESPACE_ENV: &str = "POD_NAMESPACE";

/// Whether the Kubernetes integration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Enabled {
    /// When [`IN_CLUSTER_ENV`] is set (written `"auto"`).
    #[default]
    Auto,
    /// Always (written `true`): outside a cluster the kubeconfig is used.
    Always,
    /// Never (written `false`), as in `hnsfleet up`.
    Never,
}

/// The `kube_*` configuration keys. Every default is what a chart-deployed watchdog needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KubeConfig {
    /// `"auto"` (default: in a cluster only), `true` or `false`.
    pub kube_enabled: Enabled,
    /// Namespace of the Lease, the ReorgWatch and its Events; default: `POD_NAMESPACE`, else
    /// the client's (in a pod: the service account's namespace).
    pub kube_namespace: Option<String>,
    /// Name of the `coordination.k8s.io/v1` Lease the replicas elect their leader on.
    pub kube_lease: String,
    /// This replica's identity in the Lease; default: `POD_NAME`, else `HOSTNAME`.
    pub kube_identity: Option<String>,
    /// How long a Lease holds without renewal (default 15s).
    #[serde(with = "hnsfleet_service_kit::config::duration")]
    pub kube_lease_duration: Duration,
    /// How often the leader renews and the others try to acquire (default 5s).
    #[serde(with = "hnsfleet_service_kit::config::duration")]
    pub kube_renew_interval: Duration,
    /// A leader that has not renewed for `kube_lease_duration` minus this stops leading
    /// (default 4s): it covers a write still in flight and clock skew between replicas.
    #[serde(with = "hnsfleet_service_kit::config::duration")]
    pub kube_step_down_margin: Duration,
    /// Bound on one Kubernetes API request (default 2s).
    #[serde(with = "hnsfleet_service_kit::config::duration")]
    pub kube_request_timeout: Duration,
    /// Name of the ReorgWatch object holding the verdict (default `hnsfleet`).
    pub kube_resource: String,
}

/// The configuration resolved against the environment: what the elector and the publisher
/// run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeSettings {
    /// Namespace; `None`: the client's default namespace.
    pub namespace: Option<String>,
    /// Lease name.
    pub lease_name: String,
    /// Holder identity.
    pub identity: String,
    /// Lease duration.
    pub lease_duration: Duration,
    /// Renew / retry period.
    pub renew_interval: Duration,
    /// Step-down margin (see [`KubeConfig::kube_step_down_margin`]).
    pub step_down_margin: Duration,
    /// Bound on one API request.
    pub request_timeout: Duration,
    /// ReorgWatch object name.
    pub resource_name: String,
    /// The network written into the ReorgWatch's spec when this replica creates it (set by
    /// the service, not configured).
    pub network: Option<String>,
}

// === impl Enabled ===

impl Serialize for Enabled {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Enabled::Auto => s.serialize_str("auto"),
            Enabled::Always => s.serialize_bool(true),
            Enabled::Never => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for Enabled {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(Enabled::Always),
            Raw::Bool(false) => Ok(Enabled::Never),
            Raw::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
                "auto" => Ok(Enabled::Auto),
                "true" => Ok(Enabled::Always),
                "false" => Ok(Enabled::Never),
                other => Err(serde::de::Error::custom(format!(
                    "expected \"auto\", true or false, got {other:?}"
                ))),
            },
        }
    }
}

// === impl KubeConfig ===

impl Default for KubeConfig {
    fn default() -> Self {
        KubeConfig {
            kube_enabled: Enabled::Auto,
            kube_namespace: None,
            kube_lease: "hnsfleet-watchdog".to_owned(),
            kube_identity: None,
            kube_lease_duration: Duration::from_secs(15),
            kube_renew_interval: Duration::from_secs(5),
            kube_step_down_margin: Duration::from_secs(4),
            kube_request_timeout: Duration::from_secs(2),
            kube_resource: "hnsfleet".to_owned(),
        }
    }
}

impl KubeConfig {
    /// Checks the timing rules the leadership's safety rests on (crate docs), naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let whole_seconds = |d: Duration| d.subsec_nanos() == 0 && d.as_secs() > 0;
        if !whole_seconds(self.kube_lease_duration) || self.kube_lease_duration.as_secs() > 3600 {
            return Err(ConfigError::invalid(
                "kube_lease_duration",
                "must be whole seconds, from 1s to 1h (the Lease stores seconds)",
            ));
        }
        if self.kube_renew_interval.is_zero() || self.kube_request_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "kube_renew_interval",
                "the renew interval and the request timeout must be above zero",
            ));
        }
        if self.kube_step_down_margin <= self.kube_request_timeout {
            return Err(ConfigError::invalid(
                "kube_step_down_margin",
                "must exceed kube_request_timeout (a write in flight when the leader steps \
                 down must end before another replica may take over)",
            ));
        }
        // At least one renewal after the last successful one, bounded by the request
        // timeout, must fit before the leader steps down.
        let budget = self.kube_renew_interval + self.kube_request_timeout;
        if self.kube_step_down_margin + budget >= self.kube_lease_duration {
            return Err(ConfigError::invalid(
                "kube_lease_duration",
                "must exceed kube_step_down_margin + kube_renew_interval + kube_request_timeout",
            ));
        }
        for (key, name) in [
            ("kube_lease", &self.kube_lease),
            ("kube_resource", &self.kube_resource),
        ] {
            if !is_dns_subdomain(name) {
                return Err(ConfigError::invalid(
                    key,
                    "must be a Kubernetes object name (lower-case letters, digits, '-', '.')",
                ));
            }
        }
        Ok(())
    }

    /// Whether the integration runs here, and with what: `None` when disabled (explicitly,
    /// or `auto` outside a cluster). Fails when enabled without an identity.
    pub fn resolve(&self, env: &impl Env) -> Result<Option<KubeSettings>, ConfigError> {
        self.validate()?;
        let vars = env.vars();
        let var = |name: &str| {
            vars.iter()
                .find(|(k, v)| k == name && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_owned())
        };
        let enabled = match self.kube_enabled {
            Enabled::Auto => var(IN_CLUSTER_ENV).is_some(),
            Enabled::Always => true,
            Enabled::Never => false,
        };
        if !enabled {
            return Ok(None);
        }
        let identity = self
            .kube_identity
            .clone()
            .filter(|i| !i.trim().is_empty())
            .or_else(|| var(POD_NAME_ENV))
            .or_else(|| var("HOSTNAME"))
            .ok_or_else(|| {
                ConfigError::invalid(
                    "kube_identity",
                    "not set, and neither POD_NAME nor HOSTNAME is: the Lease needs this \
                     replica's name",
                )
            })?;
        Ok(Some(KubeSettings {
            namespace: self
                .kube_namespace
                .clone()
                .or_else(|| var(POD_NAMESPACE_ENV)),
            lease_name: self.kube_lease.clone(),
            identity,
            lease_duration: self.kube_lease_duration,
            renew_interval: self.kube_renew_interval,
            step_down_margin: self.kube_step_down_margin,
            request_timeout: self.kube_request_timeout,
            resource_name: self.kube_resource.clone(),
            network: None,
        }))
    }
}

/// An RFC 1123 subdomain: what Kubernetes accepts as a Lease's or a custom object's name.
fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

// === impl KubeSettings ===

impl KubeSettings {
    /// Settings with the configuration defaults for `identity` (tests, tools).
    pub fn with_identity(identity: impl Into<String>) -> KubeSettings {
        let config = KubeConfig::default();
        KubeSettings {
            namespace: None,
            lease_name: config.kube_lease,
            identity: identity.into(),
            lease_duration: config.kube_lease_duration,
            renew_interval: config.kube_renew_interval,
            step_down_margin: config.kube_step_down_margin,
            request_timeout: config.kube_request_timeout,
            resource_name: config.kube_resource,
            network: None,
        }
    }

    /// The longest a leader goes without a successful renewal before it steps down:
    /// lease duration minus the step-down margin.
    pub fn step_down_after(&self) -> Duration {
        self.lease_duration.saturating_sub(self.step_down_margin)
    }
}
