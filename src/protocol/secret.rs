//! The webhook's shared secret, read from a file (a mounted Kubernetes Secret). The sender and
//! the receiver read it the same way, so they agree on the bytes: surrounding whitespace is not
//! part of the secret (`echo secret > file` and `kubectl create secret --from-file` differ by a
//! trailing newline, which must not change the signature).

use std::path::{Path, PathBuf};

/// Why a secret file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the secret file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the secret file {} is empty", path.display())]
    Empty { path: PathBuf },
}

/// The secret in `path`, without surrounding whitespace; an empty secret is an error.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, SecretError> {
    let bytes = std::fs::read(path).map_err(|source| SecretError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let secret = bytes.trim_ascii();
    if secret.is_empty() {
        return Err(SecretError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(secret.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrounding_whitespace_is_not_part_of_the_secret() {
        let dir = std::env::temp_dir().join(format!("drifttap-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("secret");
        std::fs::write(&path, "  s3cret\r\n").expect("written");
        assert_eq!(read_secret(&path).expect("read"), b"s3cret");
        std::fs::write(&path, "\n\n").expect("written");
        assert!(matches!(read_secret(&path), Err(SecretError::Empty { .. })));
        let missing = dir.join("missing");
        let error = read_secret(&missing).expect_err("missing file");
        assert!(error.to_string().contains("missing"), "{error}");
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
