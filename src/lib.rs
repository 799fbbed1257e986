//! audio-daemon: per-application volume control for PipeWire desktops.
//!
//! The library is the daemon: the pure state and volume logic and the daemon's I/O. The
//! wire protocol lives in its own crate, `audio-daemon-ipc`, shared with `audioctl` and any
//! third-party client; it is re-exported here as [`protocol`] for the daemon's own use.

pub mod builtin_apps;
pub mod compositor;
pub mod config;
pub mod daemon;
pub mod files;
pub mod keys;
pub mod lines;
pub mod logs;
pub mod matching;
pub mod memory;
pub mod osd;
pub mod peer;
pub mod procs;
pub mod pw;
pub mod server;
pub mod service;
pub mod state;
pub mod volume;
pub mod waybar;

pub use audio_daemon_ipc as protocol;
