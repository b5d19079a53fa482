//! Reads that say when their bytes arrived: the kernel's receive timestamp of a plain TCP connection
//! (`SO_TIMESTAMPNS`), taken when the answer reached this host's socket, not when this thread got around to reading
//! it. An answer that waits in the socket while the generator's core runs something else (the interpreter, other
//! connections' work) is then timed as the server and the network took it: on a core shared with the interpreter,
//! the engine's thread waited 131–185 µs at the 99th percentile for the core after an answer came, and up to
//! 2.7 ms while users spawned (bench/fidelity, `perf sched`, 100 and 500 users).

use std::io;
use std::mem;
use std::os::fd::AsRawFd as _;
use std::task::{ready, Poll};
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::TcpStream;

/// Asks the kernel to stamp what arrives on `tcp`. Turning it on anywhere makes the kernel stamp every packet it
/// receives (one clock read each).
pub fn stamp_arrivals(tcp: &TcpStream) -> io::Result<()> {
    let on: libc::c_int = 1;
    #[allow(clippy::cast_possible_truncation)] // an int's 4 bytes
    let length = mem::size_of_val(&on) as libc::socklen_t;
    // SAFETY: sets an int option from a live local on a descriptor `tcp` owns.
    let set = unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            std::ptr::addr_of!(on).cast(),
            length,
        )
    };
    if set == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads what `tcp` has into `buf`'s spare capacity (which must not be empty): how many bytes, 0 at the end of the
/// stream, and when the last of them arrived, if the kernel stamped them.
pub async fn read(tcp: &TcpStream, buf: &mut Vec<u8>) -> io::Result<(usize, Option<Instant>)> {
    // polled as `TcpStream::poll_read` is, not through the `readable()` future: no future per read
    std::future::poll_fn(|cx| loop {
        ready!(tcp.poll_read_ready(cx))?;
        let mut drained = None;
        let read = tcp.try_io(Interest::READABLE, || {
            let room = buf.capacity() - buf.len();
            let read = receive(tcp, buf)?;
            if read.0 > 0 && read.0 < room {
                // Fewer bytes than asked for: the socket is empty (epoll reports what arrives later as a new edge).
                // Answered as "would block", tokio forgets the readiness it saw before this read, as its own
                // `poll_read` does after a short read; otherwise the next answer's first read would be a `recvmsg`
                // that finds nothing (0.92 per request in bench/client/path.py, `perf trace -s`).
                drained = Some(read);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(read)
        });
        match (read, drained) {
            (_, Some(read)) => return Poll::Ready(Ok(read)),
            (Err(err), None) if err.kind() == io::ErrorKind::WouldBlock => {}
            (read, None) => return Poll::Ready(read),
        }
    })
    .await
}

/// One `recvmsg` into `buf`'s spare capacity, with room for the timestamp's control message.
fn receive(tcp: &TcpStream, buf: &mut Vec<u8>) -> io::Result<(usize, Option<Instant>)> {
    let spare = buf.spare_capacity_mut();
    let mut iov = libc::iovec {
        iov_base: spare.as_mut_ptr().cast(),
        iov_len: spare.len(),
    };
    // u64s: a control buffer aligned for `cmsghdr`; 64 bytes hold the one `timespec` message (32 on Linux x86-64
    // and aarch64) with room to spare
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; zeroed is its empty value.
    let mut message: libc::msghdr = unsafe { mem::zeroed() };
    message.msg_iov = &raw mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = mem::size_of_val(&control) as _;
    // SAFETY: the iovec points into `buf`'s spare capacity, the control buffer is a live local; the descriptor is
    // `tcp`'s, non-blocking.
    let read = unsafe { libc::recvmsg(tcp.as_raw_fd(), &raw mut message, 0) };
    let Ok(read) = usize::try_from(read) else {
        return Err(io::Error::last_os_error());
    };
    // SAFETY: recvmsg initialised `read` bytes of the spare capacity.
    unsafe { buf.set_len(buf.len() + read) };
    let mut stamp = None;
    // SAFETY: the control messages are walked with the kernel's own macros over the buffer recvmsg filled.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&raw const message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_TIMESTAMPNS {
                stamp = Some(libc::CMSG_DATA(header).cast::<libc::timespec>().read_unaligned());
            }
            header = libc::CMSG_NXTHDR(&raw const message, header);
        }
    }
    Ok((read, stamp.and_then(instant_of)))
}

/// The `Instant` of a `CLOCK_REALTIME` stamp: now, less the stamp's age on the real-time clock. None for a stamp
/// from the future (the real-time clock was set back meanwhile).
fn instant_of(stamp: libc::timespec) -> Option<Instant> {
    let mut real = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes a timespec into a live local.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &raw mut real) };
    let now = Instant::now();
    let age = i128::from(real.tv_sec - stamp.tv_sec) * 1_000_000_000 + i128::from(real.tv_nsec - stamp.tv_nsec);
    let age = u64::try_from(age).ok()?;
    now.checked_sub(Duration::from_nanos(age))
}

#[cfg(test)]
mod tests {
    use super::{instant_of, read};
    use std::future::poll_fn;
    use std::task::Poll;
    use std::time::{Duration, Instant};
    use tokio::io::AsyncWriteExt as _;
    use tokio::net::{TcpListener, TcpStream};

    /// Whether tokio holds `tcp` readable now, asked without a syscall.
    async fn held_readable(tcp: &TcpStream) -> bool {
        poll_fn(|cx| Poll::Ready(tcp.poll_read_ready(cx).is_ready())).await
    }

    /// One `read` into `buf`, which must end within 10 s: how many bytes.
    async fn read_soon(tcp: &TcpStream, buf: &mut Vec<u8>) -> usize {
        let limit = Duration::from_secs(10);
        tokio::time::timeout(limit, read(tcp, buf)).await.unwrap().unwrap().0
    }

    #[test]
    fn a_short_read_forgets_the_readiness_it_used_and_bytes_that_come_later_bring_it_back() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();

            server.write_all(b"hello").await.unwrap();
            let mut buf = Vec::with_capacity(64);
            let got = read_soon(&client, &mut buf).await;
            assert_eq!((got, buf.as_slice()), (5, &b"hello"[..]));
            // fewer bytes than there was room for: the socket is empty, and the next read waits for epoll instead
            // of asking the kernel first (in the same poll: no turn of the driver can have seen anything since)
            assert!(!held_readable(&client).await, "still held readable after a short read");

            server.write_all(b" world").await.unwrap();
            let got = read_soon(&client, &mut buf).await;
            assert_eq!((got, buf.as_slice()), (6, &b"hello world"[..]));

            // a read that fills the room it had leaves the rest readable
            server.write_all(&[b'x'; 100]).await.unwrap();
            let mut small = Vec::with_capacity(10);
            let room = small.capacity();
            let got = read_soon(&client, &mut small).await;
            assert_eq!(got, room);
            assert!(held_readable(&client).await, "readiness forgotten with bytes left");
            let mut rest = Vec::with_capacity(1024);
            let got = read_soon(&client, &mut rest).await;
            assert_eq!(got, 100 - room);
        });
    }

    #[test]
    fn a_stamp_is_read_back_as_the_instant_it_stands_for() {
        let before = Instant::now();
        let mut real = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: writes a timespec into a live local.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &raw mut real) };
        real.tv_sec -= 1; // a second ago
        let then = instant_of(real).unwrap();
        let after = Instant::now();
        // the stamp was read between `before` and `after`, and the two clocks are read apart by at most as long
        let (second, slack) = (Duration::from_secs(1), Duration::from_millis(1));
        assert!(then + second + slack >= before, "{:?} before", before - (then + second));
        assert!(
            then + second <= after + (after - before) + slack,
            "{:?} after",
            (then + second) - after
        );
        real.tv_sec += 10;
        assert_eq!(instant_of(real), None, "a stamp from the future");
    }
}
