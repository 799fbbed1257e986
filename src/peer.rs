//! Who is at the other end of a Unix socket (SO_PEERCRED): the daemon's socket refuses
//! other users by it, and the compositor's pid (never a window's stand-in) comes from it.

use std::os::fd::AsRawFd;

/// The peer's credentials as the kernel recorded them at connect time.
pub fn credentials(socket: &impl AsRawFd) -> std::io::Result<libc::ucred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if r == 0 {
        Ok(cred)
    } else {
        Err(std::io::Error::last_os_error())
    }
}
