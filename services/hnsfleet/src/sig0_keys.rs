//! `hnsfleet sig0 keygen FILE` and `hnsfleet sig0 pubkey FILE`: the secp256k1 key a frontend
//! signs its responses with (SIG(0), algorithm 253, as hsd and hnsd do), and what clients need
//! to pin it: the public key in its base32 form, its key tag, and the `hns.conf` line for the
//! Do53 listener (`nameserver <base32 key>@<ip>[:<port>]`, the form libhns and bns read).
//!
//! The key file holds the 32-byte secret key as 64 hex digits and a newline (hsd's key file
//! form). `keygen` creates it with mode 0600 and never overwrites an existing file.

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hnsfleet_hns::hnsconf::HnsNameserver;
use hnsfleet_hns::sig0::Sig0Key;
use serde_json::json;

/// `hnsfleet sig0 ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Sig0Command {
    /// Create a new SIG(0) secret key in FILE (mode 0600; an existing file is never
    /// overwritten) and print its public key as JSON.
    Keygen {
        /// The key file to create.
        file: PathBuf,
    },
    /// Print FILE's public key, its key tag and the hns.conf line for the Do53 listener, as
    /// JSON.
    Pubkey {
        /// The key file.
        file: PathBuf,
        /// The Do53 listener clients reach (the frontend's `--dns-listen`), for the hns.conf
        /// line; use its public (anycast) address.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:53")]
        dns_listen: SocketAddr,
    },
}

/// Runs a `sig0` command, printing one JSON line.
pub fn run(command: Sig0Command, out: &mut dyn Write) -> anyhow::Result<()> {
    let json = match command {
        Sig0Command::Keygen { file } => {
            let (secret, key) = generate();
            write_new(&file, &secret)?;
            json!({
                "file": file.display().to_string(),
                "public_key": key.public_key().to_base32(),
                "key_tag": key.key_tag(),
            })
        }
        Sig0Command::Pubkey { file, dns_listen } => {
            let key = read(&file)?;
            let public = key.public_key();
            let nameserver = HnsNameserver {
                key: Some(public),
                addr: dns_listen.ip(),
                port: dns_listen.port(),
            };
            json!({
                "public_key": public.to_base32(),
                "public_key_hex": public.to_hex(),
                "key_tag": key.key_tag(),
                "hns_conf": format!("nameserver {nameserver}"),
            })
        }
    };
    writeln!(out, "{json}")?;
    Ok(())
}

/// A fresh random key and its secret bytes (retrying the ~2^-128 chance of a value outside the
/// curve order).
fn generate() -> ([u8; 32], Sig0Key) {
    loop {
        let secret = rand::random::<[u8; 32]>();
        if let Ok(key) = Sig0Key::from_bytes(&secret) {
            return (secret, key);
        }
    }
}

/// Creates `path` (mode 0600, refusing an existing file) holding `secret` in hex.
fn write_new(path: &Path, secret: &[u8; 32]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create key file {}", path.display()))?;
    writeln!(file, "{}", hex::encode(secret))?;
    file.sync_all()?;
    Ok(())
}

/// Reads a key file: 64 hex digits (surrounding whitespace allowed). A file that others can
/// read is refused: the key would not be secret.
pub fn read(path: &Path) -> anyhow::Result<Sig0Key> {
    let meta = std::fs::metadata(path).with_context(|| format!("key file {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "key file {} is readable by others (mode {:o}): chmod 600 it",
            path.display(),
            meta.permissions().mode() & 0o777
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("key file {}", path.display()))?;
    Sig0Key::from_hex(text.trim())
        .with_context(|| format!("key file {}: not a SIG(0) secret key", path.display()))
}
