//! Reading the config file safely: a wrong path must not hang or bloat the daemon.

use super::{ConfigError, MAX_CONFIG_BYTES};
use crate::files::{self, FileError};
use std::path::Path;

/// Reads a regular file of at most [`MAX_CONFIG_BYTES`].
pub(super) fn read_regular(path: &Path) -> Result<String, ConfigError> {
    let path_buf = path.to_owned();
    let bytes = files::read_regular(path, MAX_CONFIG_BYTES).map_err(|e| match e {
        FileError::Io(source) => ConfigError::Read {
            path: path_buf,
            source,
        },
        FileError::NotAFile(kind) => ConfigError::NotAFile {
            path: path_buf,
            kind,
        },
        FileError::TooLarge(size) => ConfigError::TooLarge {
            path: path_buf,
            size,
        },
    })?;
    String::from_utf8(bytes).map_err(|_| ConfigError::Invalid {
        path: path.to_owned(),
        message: "not UTF-8 text".into(),
    })
}
