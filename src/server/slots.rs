//! Connection slots: how many connections the daemon serves, and who gives way at the cap.
//!
//! The cap follows from the open-file limit: the daemon raises its soft `RLIMIT_NOFILE`
//! to the hard limit at start (as daemons commonly do) and keeps [`RESERVED_FDS`] for
//! itself (PipeWire connections, signal pipes, the blocking pool), at most
//! [`MAX_CONNECTIONS`]. A connection is *idle* while it waits for a request line (a
//! half-sent line counts as idle: it is not a request yet), *busy* while a request is
//! handled and its reply written, or a *subscriber*. When a connection arrives at the cap,
//! the connection idle the longest is closed to make room: a stuck bar or a leaking script
//! can never lock a volume key out. Only when every slot is busy or subscribed is the
//! newcomer refused with `busy`.

use smol::channel::{Receiver, Sender};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

/// Connections served at most, however high the open-file limit.
pub const MAX_CONNECTIONS: usize = 512;
/// File descriptors kept for everything but client connections: stdio, the listener,
/// signal pipes, epoll, the PipeWire connections (one per stream client, see `pw`), the
/// blocking pool reading the config, with room to spare.
pub const RESERVED_FDS: u64 = 64;
/// Fewest connections the cap allows even under a tiny limit (then `accept` may hit
/// EMFILE, which the accept loop survives by evicting or backing off).
pub const MIN_CONNECTIONS: usize = 4;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Waiting for a request line, since this instant.
    Idle(Instant),
    Busy,
    Subscriber,
}

struct Slot {
    activity: Activity,
    /// Dropping this tells the connection to close.
    _evict: Sender<()>,
}

/// The table of live connections.
pub struct Slots {
    cap: usize,
    next: Cell<u64>,
    table: RefCell<HashMap<u64, Slot>>,
}

/// A connection's place in the table; freed on drop.
pub struct SlotGuard {
    slots: Rc<Slots>,
    id: u64,
    /// Completes (with an error) when the connection was evicted.
    pub evicted: Receiver<()>,
}

impl Slots {
    pub fn new(cap: usize) -> Rc<Slots> {
        Rc::new(Slots {
            cap,
            next: Cell::new(0),
            table: RefCell::new(HashMap::new()),
        })
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.table.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.borrow().is_empty()
    }

    /// A slot for a new connection: free, or made free by evicting the connection idle the
    /// longest. None when every slot is busy or subscribed.
    pub fn admit(self: &Rc<Self>, now: Instant) -> Option<SlotGuard> {
        if self.len() >= self.cap && !self.evict_idlest() {
            return None;
        }
        let id = self.next.get();
        self.next.set(id + 1);
        let (tx, rx) = smol::channel::bounded(1);
        self.table.borrow_mut().insert(
            id,
            Slot {
                activity: Activity::Idle(now),
                _evict: tx,
            },
        );
        Some(SlotGuard {
            slots: self.clone(),
            id,
            evicted: rx,
        })
    }

    /// Closes the connection idle the longest (never a busy one or a subscriber).
    /// False when there is none.
    pub fn evict_idlest(&self) -> bool {
        let mut table = self.table.borrow_mut();
        let victim = table
            .iter()
            .filter_map(|(&id, s)| match s.activity {
                Activity::Idle(since) => Some((since, id)),
                _ => None,
            })
            .min();
        match victim {
            // Removing the slot drops its sender, which wakes the connection to close.
            Some((_, id)) => table.remove(&id).is_some(),
            None => false,
        }
    }
}

impl SlotGuard {
    pub fn set(&self, activity: Activity) {
        if let Some(s) = self.slots.table.borrow_mut().get_mut(&self.id) {
            s.activity = activity;
        }
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.slots.table.borrow_mut().remove(&self.id);
    }
}

/// Raises the soft open-file limit to the hard one; returns the limit now in force.
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is valid for writes.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: raised is a valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    Ok(lim.rlim_cur)
}

/// The connection cap an open-file limit allows.
pub fn cap_for_limit(nofile: u64) -> usize {
    let room = nofile.saturating_sub(RESERVED_FDS);
    (room.min(MAX_CONNECTIONS as u64) as usize).max(MIN_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_cap_follows_the_fd_limit() {
        assert_eq!(cap_for_limit(1024), MAX_CONNECTIONS);
        assert_eq!(cap_for_limit(1 << 20), MAX_CONNECTIONS);
        assert_eq!(cap_for_limit(RESERVED_FDS + 20), 20);
        assert_eq!(cap_for_limit(10), MIN_CONNECTIONS);
    }

    #[test]
    fn at_the_cap_the_longest_idle_gives_way_never_a_busy_one_or_a_subscriber() {
        let slots = Slots::new(3);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let a = slots.admit(at(0)).unwrap();
        let b = slots.admit(at(1)).unwrap();
        let c = slots.admit(at(2)).unwrap();
        a.set(Activity::Subscriber);
        b.set(Activity::Idle(at(5)));
        c.set(Activity::Idle(at(3)));
        // c has been idle longer than b (since 3 vs 5).
        let d = slots.admit(at(6)).unwrap();
        assert!(c.evicted.try_recv().is_err() && c.evicted.is_closed());
        assert!(!b.evicted.is_closed() && !a.evicted.is_closed());
        assert_eq!(slots.len(), 3);
        drop(c);
        assert_eq!(slots.len(), 3, "an evicted slot is already free");
        b.set(Activity::Busy);
        d.set(Activity::Busy);
        // Nobody idle: the newcomer is refused.
        assert!(slots.admit(at(7)).is_none());
        d.set(Activity::Idle(at(8)));
        assert!(slots.admit(at(9)).is_some());
        assert!(d.evicted.is_closed());
    }
}
