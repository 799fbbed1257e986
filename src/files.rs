//! Reading small files that anyone may have put in our way (the config, Hyprland's
//! `hyprland.lock`): a FIFO, a device or a huge file at the path must not hang or
//! bloat the daemon. Below everything else; depends on nothing in the crate.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why [`read_regular`] read nothing.
#[derive(Debug)]
pub enum FileError {
    Io(std::io::Error),
    /// A directory, FIFO, socket or device: never read.
    NotAFile(&'static str),
    /// Over the caller's limit (the size seen).
    TooLarge(u64),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "cannot read: {e}"),
            FileError::NotAFile(kind) => write!(f, "is a {kind}, not a regular file"),
            FileError::TooLarge(size) => write!(f, "{size} bytes is over the limit"),
        }
    }
}

/// Reads a regular file of at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. The type
    // is checked on the opened file, so it cannot change between the check and the read.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(FileError::Io)?;
    let meta = file.metadata().map_err(FileError::Io)?;
    let t = meta.file_type();
    if !t.is_file() {
        return Err(FileError::NotAFile(if t.is_dir() {
            "directory"
        } else if t.is_fifo() {
            "FIFO"
        } else if t.is_socket() {
            "socket"
        } else {
            "device"
        }));
    }
    if meta.len() > max {
        return Err(FileError::TooLarge(meta.len()));
    }
    // The file may grow after the check: never read more than the cap plus one byte.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(FileError::Io)?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok");
        std::fs::write(&ok, b"1234\nwayland-1\n").unwrap();
        assert_eq!(read_regular(&ok, 16).unwrap(), b"1234\nwayland-1\n");
        assert!(matches!(read_regular(&ok, 4), Err(FileError::TooLarge(15))));
        // A FIFO with no writer: opening it for reading would block without O_NONBLOCK.
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_regular(&fifo, 16),
            Err(FileError::NotAFile("FIFO"))
        ));
        assert!(matches!(
            read_regular(dir.path(), 16),
            Err(FileError::NotAFile("directory"))
        ));
        assert!(matches!(
            read_regular(&dir.path().join("absent"), 16),
            Err(FileError::Io(_))
        ));
    }
}
