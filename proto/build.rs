//! Compiles the `.proto` files with protox (pure Rust), so no system `protoc` is needed, and
//! writes the list of every service's methods (`methods.rs`) so metrics can label calls with
//! known method names only.
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let files = [
        "hnsfleet/follower/v1/follower.proto",
        "hnsfleet/cache/v1/cache.proto",
        "hnsfleet/watchdog/v1/watchdog.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let fds = protox::compile(files, [&root])?;
    let mut methods = String::from("&[\n");
    for file in &fds.file {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            let names: Vec<String> = service
                .method
                .iter()
                .map(|m| format!("{:?}", m.name()))
                .collect();
            writeln!(methods, "    ({full:?}, &[{}]),", names.join(", "))?;
        }
    }
    methods.push(']');
    std::fs::write(out.join("methods.rs"), methods)?;
    tonic_prost_build::configure()
        // A look-up's byte fields are `bytes::Bytes`, so a cached look-up can hold its proof
        // once and its name state and resource as views into it (the proof ends with the
        // name state), and a cache hit clones reference counts, not buffers.
        .bytes(".hnsfleet.follower.v1.NameLookup")
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
