//! The I/O side of a load run: one non-blocking UDP socket (on 127.0.0.1 for a local SUT), the engine's timers
//! and the phase's arrivals, waited for with `ppoll` (nanosecond timeouts; epoll-based waits
//! round to milliseconds, which would delay arrivals and inflate latencies).
//!
//! Each datagram carries the kernel's receive time (SO_TIMESTAMPNS), and latencies count to
//! it, not to when the loop got to it. That lets the loop sleep through answers when its next
//! arrival is due within [`SHORT_SLEEP`]: one wake-up per request instead of two, which is
//! most of the generator's cost at moderate rates.

use super::engine::Engine;
use super::schedule::Schedule;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::socket::{
    recvmmsg, sendmmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    MultiHeaders, SockaddrIn,
};
use nix::sys::time::TimeSpec;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant, SystemTime};

/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_535;
/// Datagrams read by one `recvmmsg`.
const READ_SLOTS: usize = 32;
/// Datagrams read in a row before arrivals and timers get their turn again.
const READ_BATCH: usize = 256;
/// Datagrams sent by one `sendmmsg`.
const SEND_SLOTS: usize = 64;
/// Socket buffers asked for, so that bursts of answers and NOTIFYs are not dropped.
const SOCKET_BUFFER: usize = 8 * 1024 * 1024;
/// A wait this short or shorter is spun through rather than slept.
const SPIN: Duration = Duration::from_micros(30);
/// A wait up to this long sleeps without watching the socket: what arrives meanwhile keeps
/// its kernel timestamp and is read at the wake-up.
const SHORT_SLEEP: Duration = Duration::from_millis(10);

/// The harness's socket of a load run.
pub struct Socket {
    udp: UdpSocket,
    buffers: Vec<Vec<u8>>,
    receive_headers: MultiHeaders<SockaddrIn>,
    send_headers: MultiHeaders<SockaddrIn>,
}

impl Socket {
    /// Binds an ephemeral port of the local address the kernel routes `sut` from (127.0.0.1
    /// for a SUT on loopback), so that the Via and Contact the SUT sees reach back.
    pub fn bind_toward(sut: SocketAddr) -> io::Result<Socket> {
        let probe = UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], 0)))?;
        probe.connect(sut)?;
        let local_ip = probe.local_addr()?.ip();
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        // Best effort: the kernel caps the sizes at net.core.[rw]mem_max.
        let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
        let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
        socket.bind(&SocketAddr::new(local_ip, 0).into())?;
        socket.set_nonblocking(true)?;
        let udp: UdpSocket = socket.into();
        setsockopt(&udp, sockopt::ReceiveTimestampns, &true)?;
        Ok(Socket {
            udp,
            buffers: vec![vec![0; MAX_DATAGRAM]; READ_SLOTS],
            receive_headers: MultiHeaders::preallocate(
                READ_SLOTS,
                Some(nix::cmsg_space!(TimeSpec)),
            ),
            send_headers: MultiHeaders::preallocate(SEND_SLOTS, None),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    /// Sends what the engine queued, up to [`SEND_SLOTS`] datagrams a system call; stops
    /// (keeping the rest) when the socket is full.
    fn flush(&mut self, engine: &mut Engine) -> io::Result<()> {
        let outbox = engine.outbox();
        let mut sent = 0;
        while sent < outbox.len() {
            let batch = &outbox[sent..(sent + SEND_SLOTS).min(outbox.len())];
            let slices: Vec<[IoSlice; 1]> = batch.iter().map(|(b, _)| [IoSlice::new(b)]).collect();
            let addresses: Vec<Option<SockaddrIn>> = batch
                .iter()
                .map(|(_, to)| match to {
                    SocketAddr::V4(v4) => Some(SockaddrIn::from(*v4)),
                    SocketAddr::V6(_) => None,
                })
                .collect();
            let result = sendmmsg(
                self.udp.as_raw_fd(),
                &mut self.send_headers,
                &slices,
                &addresses,
                [] as [ControlMessage; 0],
                MsgFlags::MSG_DONTWAIT,
            );
            match result.map(|r| r.count()) {
                Ok(0) | Err(nix::errno::Errno::EAGAIN) => break,
                Ok(n) => sent += n,
                // A refused or unreachable destination (ICMP) loses the datagram, as the
                // network may; retransmissions and timeouts count it.
                Err(e) if is_transient(&io::Error::from(e)) => sent += 1,
                Err(e) => return Err(e.into()),
            }
        }
        outbox.drain(..sent);
        Ok(())
    }

    /// Reads what has arrived (at most a batch) into the engine, each datagram with the time
    /// the kernel received it; returns how many.
    fn receive(&mut self, engine: &mut Engine) -> io::Result<usize> {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut count = 0;
        while count < READ_BATCH {
            let mut arrived: Vec<(usize, Option<SocketAddr>, Option<TimeSpec>)> = Vec::new();
            {
                let mut slices: Vec<[IoSliceMut; 1]> = self
                    .buffers
                    .iter_mut()
                    .map(|b| [IoSliceMut::new(b)])
                    .collect();
                let received = recvmmsg(
                    self.udp.as_raw_fd(),
                    &mut self.receive_headers,
                    slices.iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                );
                match received {
                    Ok(results) => arrived.extend(results.map(|msg| {
                        let stamp = msg.cmsgs().ok().and_then(|mut cmsgs| {
                            cmsgs.find_map(|c| match c {
                                ControlMessageOwned::ScmTimestampns(ts) => Some(ts),
                                _ => None,
                            })
                        });
                        (
                            msg.bytes,
                            msg.address.map(|a| SocketAddr::V4(a.into())),
                            stamp,
                        )
                    })),
                    Err(nix::errno::Errno::EAGAIN) => break,
                    Err(e) if is_transient(&io::Error::from(e)) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            let full = arrived.len() == READ_SLOTS;
            for (slot, (len, from, stamp)) in arrived.into_iter().enumerate() {
                count += 1;
                let Some(from) = from else { continue };
                let at = stamp.map_or(now, |ts| {
                    let at = SystemTime::UNIX_EPOCH
                        + Duration::new(
                            ts.tv_sec().max(0) as u64,
                            ts.tv_nsec().clamp(0, 999_999_999) as u32,
                        );
                    now.checked_sub(wall.duration_since(at).unwrap_or_default())
                        .unwrap_or(now)
                });
                engine.on_datagram(&self.buffers[slot][..len.min(MAX_DATAGRAM)], from, at);
            }
            if !full {
                break;
            }
        }
        Ok(count)
    }

    /// Waits until `until`: spins through a very short wait, sleeps through a short one, and
    /// otherwise wakes early when the socket is readable (or writable, when `write` is set).
    fn wait(&self, until: Instant, write: bool) -> io::Result<()> {
        let timeout = until.saturating_duration_since(Instant::now());
        if timeout <= SPIN {
            std::hint::spin_loop();
            return Ok(());
        }
        let watch = write || timeout > SHORT_SLEEP;
        let events = if write {
            PollFlags::POLLIN | PollFlags::POLLOUT
        } else {
            PollFlags::POLLIN
        };
        let mut fds = [PollFd::new(self.udp.as_fd(), events)];
        let fds: &mut [PollFd] = if watch { &mut fds } else { &mut [] };
        match ppoll(fds, Some(TimeSpec::from_duration(timeout)), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Requests due at intended times during a phase.
pub trait Arrivals {
    /// When the next one is due; `None` when the phase has no more.
    fn next_due(&self) -> Option<Instant>;
    /// Hands every arrival due by `now` to the engine.
    fn fire(&mut self, engine: &mut Engine, now: Instant);
}

/// Arrivals on a [`Schedule`] from `start`: the `k`th goes to `action`, until `count` of them
/// or until `until`, whichever comes first.
pub struct Paced<F: FnMut(&mut Engine, u64, Instant, Instant)> {
    /// The rate and ramp.
    pub schedule: Schedule,
    /// When arrival 0 is due.
    pub start: Instant,
    /// How many at most.
    pub count: Option<u64>,
    /// No arrival due at or after this.
    pub until: Option<Instant>,
    /// Gets the engine, `k`, the intended time and now.
    pub action: F,
    next: u64,
}

impl<F: FnMut(&mut Engine, u64, Instant, Instant)> Paced<F> {
    /// Arrivals from `start`.
    pub fn new(
        schedule: Schedule,
        start: Instant,
        count: Option<u64>,
        until: Option<Instant>,
        action: F,
    ) -> Self {
        Paced {
            schedule,
            start,
            count,
            until,
            action,
            next: 0,
        }
    }

    /// How many have been handed out.
    pub fn fired(&self) -> u64 {
        self.next
    }
}

impl<F: FnMut(&mut Engine, u64, Instant, Instant)> Arrivals for Paced<F> {
    fn next_due(&self) -> Option<Instant> {
        if self.count.is_some_and(|c| self.next >= c) {
            return None;
        }
        let due = self.start + self.schedule.due(self.next);
        match self.until {
            Some(until) if due >= until => None,
            _ => Some(due),
        }
    }

    fn fire(&mut self, engine: &mut Engine, now: Instant) {
        while let Some(due) = self.next_due().filter(|due| *due <= now) {
            (self.action)(engine, self.next, due, now);
            self.next += 1;
        }
    }
}

/// A phase without arrivals (waiting for answers and NOTIFYs).
pub struct NoArrivals;

impl Arrivals for NoArrivals {
    fn next_due(&self) -> Option<Instant> {
        None
    }

    fn fire(&mut self, _: &mut Engine, _: Instant) {}
}

/// What a [`Ticker`] does: gets the engine and now.
pub type TickAction<'a> = Box<dyn FnMut(&mut Engine, Instant) + 'a>;

/// Something to do at a fixed period while a phase runs (interval roll-over, progress line).
pub struct Ticker<'a> {
    /// The period.
    pub every: Duration,
    /// When it is next due.
    pub next: Instant,
    /// What to do.
    pub action: TickAction<'a>,
}

/// Plays one phase: fires its arrivals, the engine's timers and the tickers, and feeds the
/// engine what arrives, until the arrivals are over and `done` holds (true), or `deadline`
/// passes (false).
pub fn drive(
    socket: &mut Socket,
    engine: &mut Engine,
    arrivals: &mut dyn Arrivals,
    done: &dyn Fn(&Engine) -> bool,
    deadline: Instant,
    tickers: &mut [Ticker],
) -> io::Result<bool> {
    loop {
        let now = Instant::now();
        arrivals.fire(engine, now);
        engine.on_timers(now);
        socket.flush(engine)?;
        let received = socket.receive(engine)?;
        socket.flush(engine)?;
        for ticker in tickers.iter_mut() {
            if now >= ticker.next {
                (ticker.action)(engine, now);
                ticker.next += ticker.every;
                if ticker.next <= now {
                    ticker.next = now + ticker.every;
                }
            }
        }
        let next_arrival = arrivals.next_due();
        if next_arrival.is_none() && engine.outbox().is_empty() && done(engine) {
            return Ok(true);
        }
        if now >= deadline {
            return Ok(false);
        }
        // A full batch may have left more behind; a short one drained the socket, and
        // reading again at once would only cost a system call that finds nothing.
        if received >= READ_BATCH {
            continue;
        }
        let wake = [
            next_arrival,
            engine.next_deadline(),
            Some(deadline),
            tickers.iter().map(|t| t.next).min(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(deadline);
        if wake > Instant::now() {
            socket.wait(wake, !engine.outbox().is_empty())?;
        }
    }
}
