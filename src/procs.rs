//! Process ancestry from `/proc`, for finding the streams of the focused window.
//!
//! A window belongs to one process, but browsers and Electron apps play audio from a
//! child process: a stream belongs to a window when its client's process is the window's
//! process or a descendant of it. This module reads the parent links
//! (`/proc/PID/stat`, field 4) and caches each process's *lineage* (itself and its
//! ancestors up to pid 1) by pid and start time, so a recycled pid never inherits a dead
//! process's lineage and a second stream of the same process costs one file read.

use std::collections::HashMap;
use std::rc::Rc;

/// How far up a parent chain to walk. Real chains are a few levels deep (systemd,
/// session, compositor, shell, app, child); the bound keeps a loop in a faked or racing
/// `/proc` from running away.
pub const MAX_DEPTH: usize = 32;

/// Lineages cached before the cache is cleared (and refilled on demand).
const MAX_CACHED: usize = 4096;

/// The fields of `/proc/PID/stat` this module needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub ppid: u32,
    /// Clock ticks after boot; with the pid it names one process for the boot's life.
    pub starttime: u64,
}

/// Parses `/proc/PID/stat`. Field 2 is the command name in parentheses, and the name may
/// itself contain spaces and `)` (a program can call itself `x) (y z`), so the fields
/// are counted from the *last* `)` (proc_pid_stat(5)).
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state (3), ppid (4), ... starttime (22).
    let _state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let starttime = fields.nth(17)?.parse().ok()?;
    Some(Stat { ppid, starttime })
}

fn read_stat(pid: u32) -> Option<Stat> {
    // A dead process (ENOENT/ESRCH) ends the walk.
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// One process for the boot's life: a pid alone may be recycled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcId {
    pub pid: u32,
    /// `/proc/PID/stat` field 22.
    pub start: u64,
}

/// The process that has `pid` now, if there is one (in this pid namespace).
pub fn identify(pid: u32) -> Option<ProcId> {
    let stat = read_stat(pid).filter(|_| pid > 0)?;
    Some(ProcId {
        pid,
        start: stat.starttime,
    })
}

/// Lineages by process.
#[derive(Debug, Default)]
pub struct Ancestry {
    cache: HashMap<ProcId, Rc<[ProcId]>>,
}

impl Ancestry {
    /// Every process that is one of `pids` or an ancestor of one, without duplicates.
    /// Pids that do not exist (any more, or in this pid namespace) add nothing.
    pub fn lineage_of(&mut self, pids: &[u32]) -> Vec<ProcId> {
        let mut out: Vec<ProcId> = Vec::new();
        for &pid in pids {
            for &p in self.lineage(pid, 0).iter() {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// `pid` and its ancestors, nearest first.
    fn lineage(&mut self, pid: u32, depth: usize) -> Rc<[ProcId]> {
        self.walk(pid, depth).0
    }

    /// The lineage, and whether it is whole (not cut at [`MAX_DEPTH`]). Only whole ones
    /// are cached: a lineage cut short while walking up from a deep process would
    /// otherwise be served to the next stream of a shallower one, which would then miss
    /// the ancestors above the cut (the focused window among them).
    fn walk(&mut self, pid: u32, depth: usize) -> (Rc<[ProcId]>, bool) {
        let stat = match pid {
            0 => None,
            _ => read_stat(pid),
        };
        let Some(stat) = stat else {
            return (Rc::from([]), true);
        };
        let me = ProcId {
            pid,
            start: stat.starttime,
        };
        if let Some(l) = self.cache.get(&me) {
            return (l.clone(), true);
        }
        // pid 1 (and 2, kthreadd) have parent 0; so does a process whose parent is in
        // another pid namespace.
        let (parents, whole) = if stat.ppid == 0 || stat.ppid == pid {
            (Rc::from([]), true)
        } else if depth + 1 >= MAX_DEPTH {
            (Rc::from([]), false)
        } else {
            self.walk(stat.ppid, depth + 1)
        };
        let mut l = Vec::with_capacity(parents.len() + 1);
        l.push(me);
        l.extend(parents.iter().copied().filter(|p| p.pid != pid));
        let l: Rc<[ProcId]> = l.into();
        if whole {
            if self.cache.len() >= MAX_CACHED {
                self.cache.clear();
            }
            self.cache.insert(me, l.clone());
        }
        (l, whole)
    }
}

/// Which window pids are trusted to name the window's process, when `@focused` looks
/// for streams by process. A window's pid is the client's word in places (XWayland
/// takes `_NET_WM_PID` from the X11 client), and every process descends from pid 1: a
/// window claiming pid 1, the compositor's pid or one of its ancestors (the session
/// manager, a display manager), or one of the daemon's own ancestors (systemd --user)
/// would stand for nearly every stream. Those pids are never trusted; the window is
/// then matched by its class alone. Any other pid is trusted: an X11 client can still
/// claim another app's pid, which only the compositor could rule out.
#[derive(Debug)]
pub struct WindowPids {
    ancestry: Ancestry,
    /// The daemon and its ancestors, pid 1 among them.
    own: Vec<ProcId>,
    /// The compositor and its ancestors, once known.
    compositor: Vec<ProcId>,
}

impl Default for WindowPids {
    fn default() -> WindowPids {
        let mut ancestry = Ancestry::default();
        let own = ancestry.lineage_of(&[std::process::id()]);
        WindowPids {
            ancestry,
            own,
            compositor: Vec::new(),
        }
    }
}

impl WindowPids {
    /// The compositor's process (its socket's peer), when connected.
    pub fn set_compositor(&mut self, pid: Option<u32>) {
        self.compositor = pid.map_or_else(Vec::new, |p| self.ancestry.lineage_of(&[p]));
    }

    /// The process a window's pid names, if it is trusted to stand for the window.
    pub fn identify(&self, pid: u32) -> Option<ProcId> {
        let p = identify(pid).filter(|p| p.pid > 1)?;
        let untrusted = self.own.contains(&p) || self.compositor.contains(&p);
        (!untrusted).then_some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        // Seen on a real kernel for a binary named `x) (y z`.
        let line = "23064 (x) (y z) S 23063 23058 23058 34816 23064 4194304 95 0 0 0 0 0 0 0 \
                    20 0 1 0 1234567 2420736 214 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 \
                    17 1 0 0 0 0 0";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                ppid: 23063,
                starttime: 1234567
            })
        );
        let plain = "1 (systemd) S 0 1 1 0 -1 4194560 1 1 1 1 1 1 1 1 20 0 1 0 7 1 1 1";
        assert_eq!(
            parse_stat(plain),
            Some(Stat {
                ppid: 0,
                starttime: 7
            })
        );
    }

    #[test]
    fn broken_stat_lines_are_refused_not_misread() {
        for bad in [
            "",
            "12 (no closing paren S 1 2 3",
            "12 (x) S",
            "12 (x) S notanumber 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
            "12 (x) S 1 1 1",
            "12 (x) S -4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        ] {
            assert_eq!(parse_stat(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn this_process_descends_from_its_parent_and_pid_1() {
        let me = std::process::id();
        let parent = std::os::unix::process::parent_id();
        let mut a = Ancestry::default();
        let l = pids(&a.lineage_of(&[me]));
        assert_eq!(l.first(), Some(&me));
        assert!(l.contains(&parent), "{l:?} lacks the parent {parent}");
        // The cached answer is the same.
        assert_eq!(pids(&a.lineage_of(&[me])), l);
        // A pid that cannot exist (above pid_max's hard limit) has no lineage.
        assert!(a.lineage_of(&[u32::MAX - 1, 0]).is_empty());
    }

    /// A chain deeper than MAX_DEPTH (a shell per level, each waiting on the next):
    /// asking for the deepest first must not leave a cut lineage in the cache for the
    /// processes above the cut.
    #[test]
    fn a_deep_chain_does_not_poison_the_cache() {
        let depth = MAX_DEPTH + 8;
        let ready = tempfile::NamedTempFile::new().unwrap();
        // Each level starts the next and waits; the last writes its pid and waits.
        let script = format!(
            "n=$1; if [ \"$n\" -gt 0 ]; then sh -c \"$0\" \"$0\" $((n-1)); else echo $$ > {}; sleep 30; fi",
            ready.path().display()
        );
        let mut top = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(&script)
            .arg(depth.to_string())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let deepest: u32 = loop {
            if let Ok(p) = std::fs::read_to_string(ready.path())
                .unwrap()
                .trim()
                .parse()
            {
                break p;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the chain never got deep"
            );
            // A poll interval while the chain starts, not a synchronisation.
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let mut a = Ancestry::default();
        let deep = pids(&a.lineage_of(&[deepest]));
        assert_eq!(deep.len(), MAX_DEPTH, "{deep:?}");
        // A process inside the cut walk: its own lineage is whole, up to the top and us.
        let middle = deep[11];
        let l = pids(&a.lineage_of(&[middle]));
        let _ = top.kill();
        let _ = top.wait();
        assert!(
            l.contains(&top.id()),
            "{l:?} lacks the top of the chain {}",
            top.id()
        );
        assert!(l.contains(&std::process::id()), "{l:?}");
    }

    #[test]
    fn a_child_process_has_its_parent_in_its_lineage() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let l = pids(&Ancestry::default().lineage_of(&[child.id()]));
        let window = WindowPids::default();
        let trusted = window.identify(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(l.first(), Some(&child.id()));
        assert!(l.contains(&std::process::id()), "{l:?}");
        assert_eq!(trusted.map(|p| p.pid), Some(child.id()));
    }

    /// pid 1, the daemon's own ancestors and the compositor's lineage never stand for
    /// a window (each is an ancestor of nearly every stream).
    #[test]
    fn pids_every_stream_descends_from_are_not_trusted_for_a_window() {
        let mut w = WindowPids::default();
        let me = std::process::id();
        let parent = std::os::unix::process::parent_id();
        assert_eq!(w.identify(1), None);
        assert_eq!(w.identify(me), None);
        assert_eq!(w.identify(parent), None);
        assert_eq!(w.identify(0), None);
        assert_eq!(w.identify(u32::MAX - 1), None);
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let ok = w.identify(child.id());
        // The child as the compositor: then it is not trusted either.
        w.set_compositor(Some(child.id()));
        let as_compositor = w.identify(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(ok.map(|p| p.pid), Some(child.id()));
        assert_eq!(as_compositor, None);
    }

    fn pids(l: &[ProcId]) -> Vec<u32> {
        l.iter().map(|p| p.pid).collect()
    }
}
