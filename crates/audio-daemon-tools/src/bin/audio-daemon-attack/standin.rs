//! A stand-in sway for the attacks: it answers the daemon's subscribe and tree request
//! (with whatever tree the attack gives), then the attack writes what it likes.

use audio_daemon::compositor::sway;
use audio_daemon_testkit as testkit;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::mpsc::Receiver;

/// A tree with nothing in it (nothing focused).
pub const EMPTY_TREE: &[u8] = br#"{"id":1,"type":"root","nodes":[]}"#;

/// Reads one framed message (the daemon's subscribe or tree request): its type, or
/// `None` if the peer closed the connection first.
fn read_message(s: &mut UnixStream) -> Result<Option<u32>, String> {
    let mut h = [0u8; 14];
    match s.read_exact(&mut h) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        r => r.map_err(|e| e.to_string())?,
    }
    let (len, kind) = sway::decode_header(&h).map_err(|e| e.to_string())?;
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload).map_err(|e| e.to_string())?;
    Ok(Some(kind))
}

/// Answers the daemon's subscribe and tree request on `s`; false if it closed first.
fn handshake(s: &mut UnixStream, tree: &[u8]) -> Result<bool, String> {
    for _ in 0..2 {
        let (kind, reply): (u32, &[u8]) = match read_message(s)? {
            None => return Ok(false),
            Some(sway::SUBSCRIBE) => (sway::SUBSCRIBE, br#"{"success":true}"#),
            Some(sway::GET_TREE) => (sway::GET_TREE, tree),
            Some(other) => return Err(format!("unexpected request {other}")),
        };
        s.write_all(&sway::encode(kind, reply))
            .map_err(|e| e.to_string())?;
    }
    Ok(true)
}

/// The session: the connection on which the daemon's subscribe and tree request were
/// answered, `tree` being the tree. (The daemon first probes the socket with a
/// connection it closes at once: the next one is the session.)
fn sway_session(listener: &UnixListener, tree: &[u8]) -> Result<UnixStream, String> {
    loop {
        let (mut s, _) = listener.accept().map_err(|e| e.to_string())?;
        if handshake(&mut s, tree)? {
            return Ok(s);
        }
    }
}

/// A stand-in sway listening at a path, accepting in a thread of its own (the daemon
/// connects once it runs).
pub struct Sway(Receiver<Result<UnixStream, String>>);

impl Sway {
    pub fn listen(path: &Path, tree: Vec<u8>) -> Result<Sway, String> {
        let listener = UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(sway_session(&listener, &tree)));
        Ok(Sway(rx))
    }

    /// The session, once the daemon's subscribe and tree request are answered (the
    /// tree's write took all but a socket buffer's worth of it).
    pub fn session(&self) -> Result<UnixStream, String> {
        self.0
            .recv_timeout(testkit::SETUP_TIMEOUT)
            .map_err(|_| "the daemon did not connect to the stand-in sway and ask for its tree")?
    }
}
