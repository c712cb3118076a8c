//! Prints the ReorgWatch CustomResourceDefinition as the chart ships it:
//! `cargo run -p hnsfleet-watchdog-kube --example crd > helm/hnsfleet/crds/reorgwatch.yaml`.

fn main() -> Result<(), hnsfleet_watchdog_kube::Error> {
    print!("{}", hnsfleet_watchdog_kube::crd_yaml()?);
    Ok(())
}
