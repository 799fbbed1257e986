//! Connecting to a compositor's socket from the thread that serves every request.
//!
//! A compositor that hangs leaves its socket listening and never accepting; once the
//! backlog is full a blocking `connect()` waits in the kernel until there is room, which
//! stopped the whole thread and every key with it. So every connection, the "is it
//! alive" probes included, is non-blocking: on Linux a full backlog then fails at once
//! (`EAGAIN`, surfacing as "not connected"), and a deadline bounds whatever else a
//! kernel may make us wait for.

use smol::future::FutureExt;
use smol::{Async, Timer};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long a connect may take. A live compositor's socket accepts into its backlog at
/// once; only a hung one takes longer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Connects to `path`, failing with `TimedOut` after [`CONNECT_TIMEOUT`].
pub async fn connect(path: &Path) -> io::Result<Async<UnixStream>> {
    Async::<UnixStream>::connect(path)
        .or(async {
            Timer::after(CONNECT_TIMEOUT).await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection within {CONNECT_TIMEOUT:?}"),
            ))
        })
        .await
}

/// The pid of the process that listens at the other end (the compositor), if the
/// kernel knows it in this pid namespace.
pub fn peer_pid(stream: &Async<UnixStream>) -> Option<u32> {
    let pid = crate::peer::credentials(stream.get_ref()).ok()?.pid;
    u32::try_from(pid).ok().filter(|&p| p > 0)
}

/// Whether something accepts connections at `path` (within [`CONNECT_TIMEOUT`]).
pub async fn answers(path: &Path) -> bool {
    connect(path).await.is_ok()
}

/// A listener whose backlog is full, as a hung compositor leaves it: the listener and
/// the connections that filled it (keep both alive).
#[cfg(test)]
pub fn jammed(path: &Path) -> (std::os::unix::net::UnixListener, Vec<Async<UnixStream>>) {
    use std::os::fd::AsRawFd;
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    // SAFETY: lowers the backlog of a listening socket the caller owns.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let mut held = Vec::new();
    // Filled with plain non-blocking connects, not with `connect`, so that this stays
    // a full backlog whatever `connect` does.
    while let Ok(c) = smol::block_on(Async::<UnixStream>::connect(path)) {
        held.push(c);
        assert!(held.len() < 64, "the backlog never filled");
    }
    (listener, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_backlog_fails_at_once_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let (_l, held) = jammed(&path);
        assert!(!held.is_empty());
        // A blocking connect would never return: wait for it from here, not in it.
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || tx.send(smol::block_on(connect(&p)).map(drop)));
        let e = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("connect blocked on a full backlog")
            .unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::NotConnected | io::ErrorKind::WouldBlock
            ),
            "{e}"
        );
        assert!(!smol::block_on(answers(&path)));
    }
}
