//! Waking waybar: `SIGRTMIN+N` to every waybar process of this user, which makes a
//! `custom` module with `"signal": N` run its `exec` again.

use std::os::unix::fs::MetadataExt;

/// Process ids of this user's waybar processes, found through /proc.
pub fn waybar_pids() -> Vec<libc::pid_t> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| {
            let pid: libc::pid_t = e.file_name().to_str()?.parse().ok()?;
            let path = e.path();
            // The directory's owner is the process's real uid.
            if std::fs::metadata(&path).ok()?.uid() != uid {
                return None;
            }
            let comm = std::fs::read_to_string(path.join("comm")).ok()?;
            (comm.trim_end() == "waybar").then_some(pid)
        })
        .collect()
}

/// Sends `SIGRTMIN+offset` to every waybar of this user; returns how many were signalled.
pub fn signal_waybar(offset: u8) -> usize {
    let sig = libc::SIGRTMIN() + i32::from(offset);
    if sig > libc::SIGRTMAX() {
        return 0;
    }
    waybar_pids()
        .into_iter()
        // SAFETY: kill with a valid signal number; a pid that exited meanwhile just fails.
        .filter(|&pid| unsafe { libc::kill(pid, sig) } == 0)
        .count()
}
