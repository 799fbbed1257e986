//! The D-Bus side of on-screen feedback: one session-bus connection, made when first
//! needed and again after it broke, driven by the daemon's own executor.
//!
//! zbus runs on async-io, the reactor smol already runs; with its internal executor off
//! and a task here ticking the connection's executor, it adds no thread. Every call has a
//! deadline ([`CALL_TIMEOUT`]), and a failing server is reported once per failing stretch
//! (a missing notification daemon must not fill the journal one line per keypress).
//!
//! A server that answers, even with an error or a reply of the wrong type, keeps the
//! connection: only a call that got no answer (a deadline, a broken socket) starts afresh.
//! After a failure the bus is left alone for a while ([`Backoff`]): a server that fails
//! every call (or whose D-Bus activation fails, a fork per call) got a call, and often a
//! new connection, for every ramp update of a held key. A rest that began with nobody
//! owning the service's name ends when somebody does (asked of the bus at each change,
//! one cheap call): the user who starts mako sees the next change.

use super::notify::{self, Notification};
use super::swayosd::{self, Api, Call};
use super::Shown;
use crate::config::OsdKind;
use smol::future::FutureExt;
use smol::Timer;
use std::collections::HashMap;
use std::fmt;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};
use zbus::address::transport::UnixSocket;
use zbus::Connection;

/// Longest a call may take; then it is abandoned (and the next change tries again).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// Why feedback could not be shown.
#[derive(Debug)]
pub enum OsdError {
    /// No session bus (DBUS_SESSION_BUS_ADDRESS unset or nobody listening).
    Connect(zbus::Error),
    /// Nobody owns the service's name: no notification daemon, or SwayOSD not running.
    NoService(&'static str),
    /// The server answered with an error, or the connection broke.
    Call(zbus::Error),
    /// SwayOSD's server has no `HandleAction` this daemon knows.
    UnknownApi,
    Timeout,
}

impl fmt::Display for OsdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OsdError::Connect(e) => write!(f, "cannot connect to the session bus: {e}"),
            OsdError::NoService(name) => write!(f, "no {name} on the session bus"),
            OsdError::Call(e) => write!(f, "the call failed: {e}"),
            OsdError::UnknownApi => write!(
                f,
                "{} has no HandleAction(s, s[, a(ss)]) method",
                swayosd::DESTINATION
            ),
            OsdError::Timeout => write!(f, "no answer within {} s", CALL_TIMEOUT.as_secs()),
        }
    }
}

impl std::error::Error for OsdError {}

impl OsdError {
    /// Whether the other end answered (an error reply, or a reply this daemon cannot
    /// read): the connection works.
    fn answered(&self) -> bool {
        matches!(
            self,
            OsdError::NoService(_)
                | OsdError::UnknownApi
                | OsdError::Call(zbus::Error::MethodError(..) | zbus::Error::Variant(_))
        )
    }
}

/// A method-call error naming a missing service becomes [`OsdError::NoService`].
fn call_error(e: zbus::Error, service: &'static str) -> OsdError {
    match &e {
        zbus::Error::MethodError(name, _, _)
            if name.as_str() == "org.freedesktop.DBus.Error.ServiceUnknown"
                || name.as_str() == "org.freedesktop.DBus.Error.NameHasNoOwner" =>
        {
            OsdError::NoService(service)
        }
        _ => OsdError::Call(e),
    }
}

pub struct Bus {
    ex: Rc<smol::LocalExecutor<'static>>,
    /// The connection and the task ticking its executor (dropped together).
    conn: Option<(Connection, smol::Task<()>)>,
    /// The id the server gave each app's notification, to replace it.
    ids: HashMap<String, u32>,
    /// SwayOSD's API, read once per connection.
    api: Option<Api>,
    /// Whether the notification server replaces by stack tag (read once per connection).
    tags: Option<bool>,
    failing: bool,
    backoff: Backoff,
    /// The rest began with nobody owning the service's name (its activation failed).
    unowned: bool,
}

/// How long changes go unshown after a failure: [`Backoff::FIRST`], doubling with each
/// failure in a row up to [`Backoff::MAX`]; a success ends it. Changes made meanwhile are
/// not queued: the next one after the rest is shown, with the state of that moment.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Backoff {
    rest: Duration,
    until: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            rest: Backoff::FIRST,
            until: None,
        }
    }
}

impl Backoff {
    pub(super) const FIRST: Duration = Duration::from_secs(1);
    pub(super) const MAX: Duration = Duration::from_secs(30);

    pub(super) fn resting(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| now < until)
    }

    pub(super) fn failed(&mut self, now: Instant) {
        self.until = Some(now + self.rest);
        self.rest = (self.rest * 2).min(Backoff::MAX);
    }

    pub(super) fn succeeded(&mut self) {
        *self = Backoff::default();
    }
}

impl Bus {
    pub fn new(ex: Rc<smol::LocalExecutor<'static>>) -> Bus {
        Bus {
            ex,
            conn: None,
            ids: HashMap::new(),
            api: None,
            tags: None,
            failing: false,
            backoff: Backoff::default(),
            unowned: false,
        }
    }

    /// Shows one app's state; failures are logged (once) and otherwise ignored.
    pub async fn show(&mut self, kind: OsdKind, timeout_ms: u32, s: &Shown) {
        if self.backoff.resting(Instant::now()) {
            if !(self.unowned && self.owned(kind).await == Some(true)) {
                return;
            }
            self.backoff.succeeded();
        }
        let r = self
            .try_show(kind, timeout_ms, s)
            .or(async {
                Timer::after(CALL_TIMEOUT).await;
                Err(OsdError::Timeout)
            })
            .await;
        match r {
            Ok(()) => {
                self.backoff.succeeded();
                if std::mem::replace(&mut self.failing, false) {
                    eprintln!("audio-daemon: on-screen feedback works again");
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    eprintln!(
                        "audio-daemon: warning: on-screen feedback: {e}; volume changes are \
                         not shown until that works (logged once)"
                    );
                }
                // A call nobody answered may have left the connection broken: start
                // afresh. One the server (or the bus) answered has not.
                if !e.answered() {
                    self.conn = None;
                }
                // Nobody owning the name costs the bus one quick answer, and the first
                // change after a notification daemon starts is shown: no rest for that.
                if !matches!(e, OsdError::NoService(_)) {
                    self.backoff.failed(Instant::now());
                    self.unowned = self.owned(kind).await == Some(false);
                }
                // The server may have restarted: what was learnt of it is asked again.
                self.api = None;
                self.tags = None;
                self.ids.clear();
            }
        }
    }

    /// Whether somebody owns the service's name, on the connection there is (None: no
    /// connection, or the bus did not answer in time).
    async fn owned(&self, kind: OsdKind) -> Option<bool> {
        let (conn, _) = self.conn.as_ref()?;
        let name = match kind {
            OsdKind::Notify => notify::DESTINATION,
            OsdKind::Swayosd => swayosd::DESTINATION,
        };
        let ask = async {
            let reply = conn
                .call_method(
                    Some("org.freedesktop.DBus"),
                    "/org/freedesktop/DBus",
                    Some("org.freedesktop.DBus"),
                    "NameHasOwner",
                    &name,
                )
                .await
                .ok()?;
            reply.body().deserialize::<bool>().ok()
        };
        ask.or(async {
            Timer::after(CALL_TIMEOUT).await;
            None
        })
        .await
    }

    async fn connection(&mut self) -> Result<Connection, OsdError> {
        if let Some((c, _)) = &self.conn {
            return Ok(c.clone());
        }
        // Connected here, without blocking, on the reactor: zbus would connect from a
        // thread of the `blocking` pool, which (blocking 1.7) never exits and wakes up
        // twice a second for the daemon's whole life. That covers both kinds of
        // session-bus socket a desktop uses: a path (systemd's, dbus-launch's) and an
        // abstract name (older dbus-launch, some containers).
        let builder = match session_bus_socket()? {
            Some(socket) => {
                let stream = connect_unix(&socket).await.map_err(|e| {
                    OsdError::Connect(zbus::Error::Address(format!("{socket:?}: {e}")))
                })?;
                zbus::connection::Builder::async_io_unix_stream(stream)
            }
            // Another transport (tcp, launchd…): zbus's own way.
            None => zbus::connection::Builder::session().map_err(OsdError::Connect)?,
        };
        let conn = builder
            .internal_executor(false)
            .build()
            .await
            .map_err(OsdError::Connect)?;
        let c = conn.clone();
        let ticker = self.ex.spawn(async move {
            loop {
                c.executor().tick().await;
            }
        });
        self.conn = Some((conn.clone(), ticker));
        Ok(conn)
    }

    async fn try_show(
        &mut self,
        kind: OsdKind,
        timeout_ms: u32,
        s: &Shown,
    ) -> Result<(), OsdError> {
        let conn = self.connection().await?;
        match kind {
            OsdKind::Notify => {
                // A server that replaces by tag gets no replaces_id: mako 1.7.1 (Debian
                // 12) frees the old notification twice when both name it, and crashes.
                // Others get the id of the app's last notification. (Asked only once
                // there is an id to send, so the first call is always the Notify.)
                let replaces = match self.ids.get(&s.app).copied() {
                    None => 0,
                    Some(id) => {
                        let tags = match self.tags {
                            Some(t) => t,
                            None => replaces_by_tag(&conn).await?,
                        };
                        self.tags = Some(tags);
                        if tags {
                            0
                        } else {
                            id
                        }
                    }
                };
                let n = Notification::new(s, replaces, timeout_ms);
                let reply = conn
                    .call_method(
                        Some(notify::DESTINATION),
                        notify::PATH,
                        Some(notify::INTERFACE),
                        "Notify",
                        &n.args(),
                    )
                    .await
                    .map_err(|e| call_error(e, notify::DESTINATION))?;
                let id: u32 = reply.body().deserialize().map_err(OsdError::Call)?;
                self.ids.insert(s.app.clone(), id);
                Ok(())
            }
            OsdKind::Swayosd => {
                let api = match self.api {
                    Some(a) => a,
                    None => {
                        let a = introspect(&conn).await?;
                        self.api = Some(a);
                        a
                    }
                };
                for call in swayosd::calls(api, s) {
                    let r = match &call {
                        Call::WithOptions(a, d, o) => {
                            handle_action(&conn, &(a.as_str(), d.as_str(), o)).await
                        }
                        Call::Separate(a, d) => {
                            handle_action(&conn, &(a.as_str(), d.as_str())).await
                        }
                    };
                    r.map_err(|e| call_error(e, swayosd::DESTINATION))?;
                }
                Ok(())
            }
        }
    }
}

/// The session bus's Unix socket, when its address is one: a file (`unix:path=…`, the
/// usual case) or an abstract name (`unix:abstract=…`). zbus reads
/// `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`.
fn session_bus_socket() -> Result<Option<UnixSocket>, OsdError> {
    use zbus::address::transport::Transport;
    let address = zbus::Address::session().map_err(OsdError::Connect)?;
    Ok(match address.transport() {
        Transport::Unix(u) => match u.path() {
            s @ (UnixSocket::File(_) | UnixSocket::Abstract(_)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    })
}

/// A non-blocking connect to `socket` (a path or an abstract name). A Unix socket
/// connects at once or fails at once (`EAGAIN` on a full backlog): nothing to wait for.
async fn connect_unix(socket: &UnixSocket) -> std::io::Result<UnixStream> {
    match socket {
        UnixSocket::File(path) => smol::Async::<UnixStream>::connect(path).await?.into_inner(),
        UnixSocket::Abstract(name) => connect_abstract(name.as_encoded_bytes()),
        _ => Err(std::io::ErrorKind::Unsupported.into()),
    }
}

fn connect_abstract(name: &[u8]) -> std::io::Result<UnixStream> {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: socket(2) with constant arguments.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor just created here and owned by nothing else.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    // SAFETY: sockaddr_un is plain data; all zeros is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // An abstract name: a NUL, then the name's bytes (not NUL-terminated).
    if name.len() >= addr.sun_path.len() {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    for (d, &b) in addr.sun_path[1..].iter_mut().zip(name) {
        *d = b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + name.len();
    // SAFETY: `addr` is a valid sockaddr_un and `len` covers only its used bytes.
    let r = unsafe {
        libc::connect(
            stream.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            len as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(stream)
}

/// Whether the notification server says (GetCapabilities) that it stacks by tag.
async fn replaces_by_tag(conn: &Connection) -> Result<bool, OsdError> {
    let reply = conn
        .call_method(
            Some(notify::DESTINATION),
            notify::PATH,
            Some(notify::INTERFACE),
            "GetCapabilities",
            &(),
        )
        .await
        .map_err(|e| call_error(e, notify::DESTINATION))?;
    let caps: Vec<String> = reply.body().deserialize().map_err(OsdError::Call)?;
    Ok(notify::stacks_by_tag(&caps))
}

async fn handle_action<B>(conn: &Connection, body: &B) -> zbus::Result<zbus::Message>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    conn.call_method(
        Some(swayosd::DESTINATION),
        swayosd::PATH,
        Some(swayosd::INTERFACE),
        swayosd::METHOD,
        body,
    )
    .await
}

/// Which `HandleAction` the running SwayOSD server has.
async fn introspect(conn: &Connection) -> Result<Api, OsdError> {
    let reply = conn
        .call_method(
            Some(swayosd::DESTINATION),
            swayosd::PATH,
            Some("org.freedesktop.DBus.Introspectable"),
            "Introspect",
            &(),
        )
        .await
        .map_err(|e| call_error(e, swayosd::DESTINATION))?;
    let xml: String = reply.body().deserialize().map_err(OsdError::Call)?;
    swayosd::detect(&xml).ok_or(OsdError::UnknownApi)
}
