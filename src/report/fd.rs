//! Inherited file descriptors (`--result-fd N`, `--progress-fd N`), taken over safely.

use std::fs::File;

use crate::error::{Error, Result};

/// Takes ownership of an inherited, open file descriptor given on the command line.
/// Refuses stdin/stdout/stderr and descriptors that are not open.
#[cfg(unix)]
#[allow(unsafe_code)] // the only unsafe code in mergeward; each block has its SAFETY note
pub(super) fn take_fd(fd: i32, flag: &str) -> Result<File> {
    use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
    if fd <= 2 {
        return Err(Error::usage_hint(
            format!("{flag} {fd}: descriptors 0, 1 and 2 are stdin, stdout and stderr"),
            format!("open another descriptor for it, e.g. `{flag} 3 3>result.json`"),
        ));
    }
    // SAFETY: only borrowed for the duration of the probe; fcntl on any number is sound.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    if let Err(e) = rustix::io::fcntl_getfd(borrowed) {
        return Err(Error::usage_hint(
            format!("{flag} {fd}: the descriptor is not open ({e})"),
            format!("the caller must open it, e.g. `{flag} {fd} {fd}>file`"),
        ));
    }
    // SAFETY: the descriptor is open (checked above) and was handed to this process on the
    // command line for mergeward to write to and close; nothing else in the process uses it,
    // and it is taken over exactly once (each flag is parsed once).
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(File::from(owned))
}

#[cfg(not(unix))]
pub fn take_fd(_fd: i32, flag: &str) -> Result<File> {
    Err(Error::usage(format!("{flag} is only supported on Unix")))
}
