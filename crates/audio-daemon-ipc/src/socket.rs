//! Where the socket is, and whether a path can be one: rules both sides apply.

use std::fmt;

/// The socket both sides use by default: `$AUDIO_DAEMON_SOCKET`, else
/// `$XDG_RUNTIME_DIR/audio-daemon.sock` (None when neither is set).
pub fn default_socket_path() -> Option<std::path::PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = var("AUDIO_DAEMON_SOCKET") {
        return Some(p.into());
    }
    Some(std::path::PathBuf::from(var("XDG_RUNTIME_DIR")?).join("audio-daemon.sock"))
}

/// Longest socket path: a Unix socket address holds 108 bytes, the last one a NUL.
pub const MAX_SOCKET_PATH: usize = 107;

/// A socket path too long for a Unix socket address. Without this check the OS error
/// is a misleading "No such file or directory".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketPathTooLong {
    pub path: std::path::PathBuf,
}

impl fmt::Display for SocketPathTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "socket path too long ({} bytes, at most {MAX_SOCKET_PATH}): {}",
            self.path.as_os_str().len(),
            self.path.display()
        )
    }
}

impl std::error::Error for SocketPathTooLong {}

/// Checks that `path` fits in a Unix socket address (both sides call this first).
pub fn check_socket_path(path: &std::path::Path) -> Result<(), SocketPathTooLong> {
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        Err(SocketPathTooLong {
            path: path.to_owned(),
        })
    } else {
        Ok(())
    }
}
