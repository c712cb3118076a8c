//! `hnsfleet`: the command line of the fleet.
fn main() {}
