//! The state file: where it lives, its format, reading it without trusting it, and
//! replacing it atomically.
//!
//! `volumes.json` in the state directory:
//! `{"version":1,"apps":{"youtube":{"volume":42.0,"ratios":[1.0,0.8],"muted":false}}}`.
//! A file that cannot be used is never fatal: [`open`] logs it once, moves it aside as
//! `volumes.json.bad` and starts with no remembered volumes, so one bad write (or a hand
//! edit) never stops the daemon or loses the next session's volumes too.

use super::{Memory, Remembered, MAX_CHANNELS};
use crate::config::{AppName, MAX_MAX_VOLUME};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "volumes.json";
/// Where a file that could not be used goes (an older one is replaced).
pub const BAD_NAME: &str = "volumes.json.bad";
/// Prefix of the temporary files a write creates next to the file; a crash between
/// creating one and renaming it leaves one behind, removed at the next start.
pub const TEMP_PREFIX: &str = ".volumes.json.";
/// The format this daemon writes and the newest it reads.
pub const VERSION: u64 = 1;
/// Largest state file read: a thousand apps are well under 200 KiB.
pub const MAX_STATE_BYTES: u64 = 1 << 20;

/// The state directory: `$STATE_DIRECTORY` (set by systemd for `StateDirectory=`, so the
/// unit and the daemon agree on every systemd version), else
/// `$XDG_STATE_HOME/audio-daemon`, else `~/.local/state/audio-daemon`.
pub fn state_dir() -> Option<PathBuf> {
    state_dir_from(|k| std::env::var_os(k))
}

/// [`state_dir`] with the environment given as a lookup (the tests pass their own).
pub fn state_dir_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(dirs) = var("STATE_DIRECTORY") {
        // systemd joins several directories with ':'; ours is the only one.
        let first = dirs.to_string_lossy().split(':').next().map(PathBuf::from);
        if let Some(p) = first.filter(|p| p.is_absolute()) {
            return Some(p);
        }
    }
    // The basedir spec says a relative XDG_STATE_HOME is invalid and must be ignored.
    let base = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("audio-daemon"))
}

/// Why a state file could not be used.
#[derive(Debug)]
pub enum StateFileError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A directory, FIFO, socket or device where the file should be.
    NotAFile {
        path: PathBuf,
    },
    TooLarge {
        path: PathBuf,
        size: u64,
    },
    NotUtf8 {
        path: PathBuf,
    },
    /// Not JSON, or not the expected shape (a truncated file ends up here).
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Written by a newer daemon: its meaning is unknown, so it is not guessed at.
    Version {
        path: PathBuf,
        found: u64,
    },
    /// Well-formed, but with values no daemon writes.
    Invalid {
        path: PathBuf,
        message: String,
    },
}

impl fmt::Display for StateFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateFileError::Read { path, source } => {
                write!(f, "{}: cannot read: {source}", path.display())
            }
            StateFileError::NotAFile { path } => {
                write!(f, "{}: not a regular file", path.display())
            }
            StateFileError::TooLarge { path, size } => write!(
                f,
                "{}: {size} bytes is over the {MAX_STATE_BYTES}-byte limit",
                path.display()
            ),
            StateFileError::NotUtf8 { path } => write!(f, "{}: not UTF-8 text", path.display()),
            StateFileError::Parse {
                path,
                line,
                column,
                message,
            } => write!(f, "{}:{line}:{column}: {message}", path.display()),
            StateFileError::Version { path, found } => write!(
                f,
                "{}: version {found} is newer than this daemon's ({VERSION})",
                path.display()
            ),
            StateFileError::Invalid { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for StateFileError {}

/// Only the version, read first: a newer format may differ in every other field.
#[derive(Deserialize)]
struct VersionOnly {
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    version: u64,
    apps: BTreeMap<AppName, Entry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    volume: f64,
    ratios: Vec<f32>,
    muted: bool,
}

impl Entry {
    fn check(&self) -> Result<(), String> {
        if !(self.volume.is_finite() && (0.0..=MAX_MAX_VOLUME).contains(&self.volume)) {
            return Err(format!(
                "volume must be from 0 to {MAX_MAX_VOLUME}, got {}",
                self.volume
            ));
        }
        if self.ratios.is_empty() || self.ratios.len() > MAX_CHANNELS {
            return Err(format!(
                "ratios must have 1 to {MAX_CHANNELS} channels, got {}",
                self.ratios.len()
            ));
        }
        if let Some(r) = self
            .ratios
            .iter()
            .find(|r| !(r.is_finite() && (0.0..=1.0).contains(*r)))
        {
            return Err(format!("a channel ratio must be from 0 to 1, got {r}"));
        }
        Ok(())
    }
}

/// Parses a state file's text; `path` is only used in errors.
pub fn parse(text: &str, path: &Path) -> Result<Memory, StateFileError> {
    let parse_err = |e: serde_json::Error| StateFileError::Parse {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: crate::config::strip_position(&e.to_string()),
    };
    // serde would also read a struct from an array (`[1, {}]`): only an object is a file.
    if !text.trim_start().starts_with('{') {
        return Err(StateFileError::Invalid {
            path: path.to_owned(),
            message: "not a JSON object".into(),
        });
    }
    let v: VersionOnly = serde_json::from_str(text).map_err(parse_err)?;
    if v.version > VERSION {
        return Err(StateFileError::Version {
            path: path.to_owned(),
            found: v.version,
        });
    }
    let file: FileFormat = serde_json::from_str(text).map_err(parse_err)?;
    let mut memory = Memory::default();
    for (name, e) in file.apps {
        e.check().map_err(|message| StateFileError::Invalid {
            path: path.to_owned(),
            message: format!("app {:?}: {message}", name.as_str()),
        })?;
        memory.record(
            name.as_str(),
            Remembered {
                volume: e.volume,
                ratios: e.ratios,
                muted: e.muted,
            },
        );
    }
    Ok(memory)
}

/// The file's text for `memory`.
pub fn render(memory: &Memory) -> String {
    let apps = memory
        .iter()
        .filter_map(|(name, r)| {
            let name = AppName::try_from(name.to_owned()).ok()?;
            let entry = Entry {
                volume: r.volume,
                ratios: r.ratios.clone(),
                muted: r.muted,
            };
            Some((name, entry))
        })
        .collect();
    let file = FileFormat {
        version: VERSION,
        apps,
    };
    let mut text = serde_json::to_string_pretty(&file).expect("the state always serializes");
    text.push('\n');
    text
}

/// Reads the file; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Memory>, StateFileError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let read_err = |source| StateFileError::Read {
        path: path.to_owned(),
        source,
    };
    // O_NONBLOCK: a FIFO put in its place must not hang the start.
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(e)),
    };
    let meta = file.metadata().map_err(read_err)?;
    if !meta.file_type().is_file() {
        return Err(StateFileError::NotAFile {
            path: path.to_owned(),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(StateFileError::TooLarge {
            path: path.to_owned(),
            size: meta.len().max(bytes.len() as u64),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| StateFileError::NotUtf8 {
        path: path.to_owned(),
    })?;
    parse(&text, path).map(Some)
}

/// Loads the remembered volumes in `dir` for the daemon's start. Never fails: a file that
/// cannot be used is logged (once, with its name), moved aside to [`BAD_NAME`], and the
/// daemon starts with nothing remembered. Leftover temporary files are removed.
pub fn open(dir: &Path) -> Memory {
    remove_leftovers(dir);
    let path = dir.join(FILE_NAME);
    match load(&path) {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => {
            let bad = dir.join(BAD_NAME);
            match std::fs::rename(&path, &bad) {
                Ok(()) => eprintln!(
                    "audio-daemon: {e}; moved it to {} and starting with no remembered volumes",
                    bad.display()
                ),
                Err(re) => eprintln!(
                    "audio-daemon: {e}; could not move it to {} ({re}); starting with no \
                     remembered volumes (the next save replaces it)",
                    bad.display()
                ),
            }
            Memory::default()
        }
    }
}

/// Removes temporary files a crash left between creating and renaming them.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Replaces `dir/volumes.json` atomically: the file is always either the old or the new
/// content, whatever moment the process dies at (and, with the fsyncs, whatever moment
/// the machine loses power).
pub fn write_atomic(dir: &Path, memory: &Memory) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // Same directory, so the rename never crosses file systems; created 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(render(memory).as_bytes())?;
    // The data must be on disk before the rename makes it the file.
    tmp.as_file().sync_all()?;
    tmp.persist(dir.join(FILE_NAME)).map_err(|e| e.error)?;
    // And the rename itself, which lives in the directory.
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
