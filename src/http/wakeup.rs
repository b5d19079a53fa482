use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// An eventfd that runtime threads write to, without any lock or interpreter state, when completions are waiting.
/// Writes coalesce: at most one per drain cycle.
pub struct Wakeup {
    fd: OwnedFd,
    armed: AtomicBool,
}

impl Wakeup {
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd has no memory-safety preconditions; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            armed: AtomicBool::new(false),
        })
    }

    /// The descriptor to watch for readability.
    #[must_use]
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Producer side, after queueing a completion.
    pub fn notify(&self) {
        if !self.armed.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd. A failure can only be EAGAIN (counter
            // full), in which case the fd is readable anyway.
            unsafe { libc::write(self.fd(), std::ptr::addr_of!(one).cast(), 8) };
        }
    }

    /// Consumer side, before taking the queue: reading first, then disarming, cannot lose a wakeup — a completion
    /// queued after the disarm writes again, one queued before it is in the batch about to be taken.
    pub fn reset(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own non-blocking eventfd; EAGAIN just means "nothing".
        unsafe { libc::read(self.fd(), std::ptr::addr_of_mut!(count).cast(), 8) };
        self.armed.store(false, Ordering::Release);
    }
}

#[cfg(test)]
impl Wakeup {
    /// Whether a wait on the descriptor would return now.
    pub(crate) fn readable(&self) -> bool {
        let mut poll = libc::pollfd {
            fd: self.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&raw mut poll, 1, 0) == 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::Wakeup;

    #[test]
    fn notify_reset_cycle() {
        let wakeup = Wakeup::new().unwrap();
        assert!(!wakeup.readable());
        wakeup.notify();
        wakeup.notify();
        assert!(wakeup.readable());
        wakeup.reset();
        assert!(!wakeup.readable());
        wakeup.notify();
        assert!(wakeup.readable());
    }
}
