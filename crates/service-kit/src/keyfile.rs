//! Secret key files: 32 bytes written as 64 hex digits on one line, mode 0600. The
//! chain-follower's attestation key and the reorg-watchdog's signing key are such files; what
//! the bytes mean (a secp256k1 scalar) is the caller's business, checked by its `accept`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

/// Reads the key in `path`; `key` names the setting in errors, `accept` says whether the
/// bytes are a valid key.
pub fn read(
    path: &Path,
    key: &str,
    accept: impl Fn(&[u8; 32]) -> bool,
) -> anyhow::Result<[u8; 32]> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("{key} {}", path.display()))?;
    parse(&text, path, key, &accept)
}

/// Reads the key in `path`, or, when there is no such file, makes one with random bytes that
/// `accept` takes and writes it (created exclusively, mode 0600, synced). The bool says
/// whether it was created.
pub fn read_or_create(
    path: &Path,
    key: &str,
    accept: impl Fn(&[u8; 32]) -> bool,
) -> anyhow::Result<([u8; 32], bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((parse(&text, path, key, &accept)?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = random(&accept);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("{key} {}", path.display()))?;
            writeln!(file, "{}", hex::encode(bytes))
                .and_then(|()| file.sync_all())
                .with_context(|| format!("{key} {}", path.display()))?;
            Ok((bytes, true))
        }
        Err(e) => Err(e).with_context(|| format!("{key} {}", path.display())),
    }
}

/// Random bytes that `accept` takes (a key for this run only).
pub fn random(accept: impl Fn(&[u8; 32]) -> bool) -> [u8; 32] {
    loop {
        let bytes = rand::random::<[u8; 32]>();
        if accept(&bytes) {
            return bytes;
        }
    }
}

fn parse(
    text: &str,
    path: &Path,
    key: &str,
    accept: &impl Fn(&[u8; 32]) -> bool,
) -> anyhow::Result<[u8; 32]> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{key} {}: not 64 hex digits", path.display()))?;
    if !accept(&bytes) {
        anyhow::bail!("{key} {}: not a valid key", path.display());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn nonzero(bytes: &[u8; 32]) -> bool {
        bytes != &[0; 32]
    }

    #[test]
    fn a_key_is_created_once_private_and_bad_files_are_refused_with_the_setting_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let (first, created) = read_or_create(&path, "key_file", nonzero).unwrap();
        assert!(created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            read_or_create(&path, "key_file", nonzero).unwrap(),
            (first, false)
        );
        assert_eq!(read(&path, "key_file", nonzero).unwrap(), first);

        std::fs::write(&path, "not hex\n").unwrap();
        let err = read_or_create(&path, "key_file", nonzero)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key_file") && err.contains("64 hex digits"),
            "{err}"
        );
        std::fs::write(&path, format!("{}\n", "00".repeat(32))).unwrap();
        let err = read(&path, "key_file", nonzero).unwrap_err().to_string();
        assert!(err.contains("not a valid key"), "{err}");
        let err = read(&dir.path().join("missing"), "key_file", nonzero)
            .unwrap_err()
            .to_string();
        assert!(err.contains("key_file") && err.contains("missing"), "{err}");
    }
}
