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

/// Lineages by (pid, start time).
#[derive(Debug, Default)]
pub struct Ancestry {
    cache: HashMap<(u32, u64), Rc<[u32]>>,
}

impl Ancestry {
    /// Every process that is one of `pids` or an ancestor of one, without duplicates.
    /// Pids that do not exist (any more, or in this pid namespace) add nothing.
    pub fn lineage_of(&mut self, pids: &[u32]) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
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
    fn lineage(&mut self, pid: u32, depth: usize) -> Rc<[u32]> {
        let stat = match pid {
            0 => None,
            _ => read_stat(pid),
        };
        let Some(stat) = stat else {
            return Rc::from([]);
        };
        if let Some(l) = self.cache.get(&(pid, stat.starttime)) {
            return l.clone();
        }
        // pid 1 (and 2, kthreadd) have parent 0; so does a process whose parent is in
        // another pid namespace.
        let parents = if stat.ppid == 0 || stat.ppid == pid || depth + 1 >= MAX_DEPTH {
            Rc::from([])
        } else {
            self.lineage(stat.ppid, depth + 1)
        };
        let mut l = Vec::with_capacity(parents.len() + 1);
        l.push(pid);
        l.extend(parents.iter().copied().filter(|&p| p != pid));
        let l: Rc<[u32]> = l.into();
        if self.cache.len() >= MAX_CACHED {
            self.cache.clear();
        }
        self.cache.insert((pid, stat.starttime), l.clone());
        l
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
        let l = a.lineage_of(&[me]);
        assert_eq!(l.first(), Some(&me));
        assert!(l.contains(&parent), "{l:?} lacks the parent {parent}");
        // The cached answer is the same.
        assert_eq!(a.lineage_of(&[me]), l);
        // A pid that cannot exist (above pid_max's hard limit) has no lineage.
        assert!(a.lineage_of(&[u32::MAX - 1, 0]).is_empty());
    }

    #[test]
    fn a_child_process_has_its_parent_in_its_lineage() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let l = Ancestry::default().lineage_of(&[child.id()]);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(l.first(), Some(&child.id()));
        assert!(l.contains(&std::process::id()), "{l:?}");
    }
}
