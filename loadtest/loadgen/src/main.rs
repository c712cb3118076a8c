//! `hnsfleet-loadgen`: parses flags, runs the load, writes the JSON result and the plot.
//! Exits 64 on a bad flag or a refused target, 1 when the run could not happen.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use hnsfleet_loadgen::{Args, Config, LoadgenError, plot, run};

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::from_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hnsfleet-loadgen: {e}");
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hnsfleet-loadgen: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(async { finish(&args, run(config).await?) }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hnsfleet-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the summary and writes `--json` and `--plot`.
fn finish(args: &Args, report: hnsfleet_loadgen::Report) -> Result<(), LoadgenError> {
    let l = &report.latency_ms;
    let t = &report.totals;
    println!(
        "sent {} answered {} timeouts {} errors {} | {:.0} q/s | latency ms p50 {:.3} p90 {:.3} \
         p99 {:.3} p99.9 {:.3} max {:.3} | rcodes {:?}",
        t.sent,
        t.answered,
        t.timeouts,
        t.errors,
        report.qps,
        l.p50,
        l.p90,
        l.p99,
        l.p99_9,
        l.max,
        report.rcodes
    );
    if let Some(path) = &args.json {
        let out = |detail: String| LoadgenError::Output {
            path: path.display().to_string(),
            detail,
        };
        let json = serde_json::to_string_pretty(&report).map_err(|e| out(e.to_string()))?;
        std::fs::write(path, json + "\n").map_err(|e| out(e.to_string()))?;
    }
    if let Some(path) = &args.plot {
        plot::write_png(&report, path)?;
    }
    Ok(())
}
