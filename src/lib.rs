//! audio-daemon: per-application volume control for PipeWire desktops.
//!
//! The library holds everything the binaries share: the wire protocol (used by the daemon
//! and by the `audioctl` client), the pure state and volume logic, and the daemon's I/O.

pub mod builtin_apps;
pub mod config;
pub mod daemon;
pub mod lines;
pub mod matching;
pub mod protocol;
pub mod pw;
pub mod server;
pub mod state;
pub mod testkit;
pub mod volume;
pub mod waybar;
