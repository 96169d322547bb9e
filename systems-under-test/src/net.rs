//! The network seam. Services import sockets from here, never from an engine
//! directly, so one service body runs under every engine hormesis supports:
//! turmoil's simulated TCP in the default build, madsim's under
//! `--cfg madsim` (the madsim flavour, `cargo madsim-build`).
//!
//! The two differ in one place a service touches: madsim's stream cannot be
//! split into owned halves, so [`into_split`] is the one way to split a
//! stream here, and the halves' types are named by this module.

#[cfg(not(madsim))]
mod engine {
    pub use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    pub use turmoil::net::{TcpListener, TcpStream};

    /// Splits a stream into halves that can move to different tasks.
    pub fn into_split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
        stream.into_split()
    }
}

#[cfg(madsim)]
mod engine {
    //! madsim's sockets, with what madsim's network lacks: latency and loss
    //! per link. madsim has one latency range and one loss rate for the
    //! whole network; hormesis faults target links and hosts. So a stream
    //! whose link has a condition sends through a small forwarder task that
    //! holds every flushed segment until the link's conditions let it go, in
    //! order. A stream that has never met a condition writes straight to
    //! madsim's stream: most streams never do, and the forwarder's task wake
    //! and channel hop per segment was a sixth of madsim's time on
    //! retry-storm (docs/benchmarks.md).

    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::io;
    use std::net::{IpAddr, SocketAddr};
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;
    use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
    use tokio::net::ToSocketAddrs;
    use tokio::sync::mpsc;
    use tokio::time::Instant;

    pub type OwnedReadHalf = tokio::io::ReadHalf<TcpStream>;
    pub type OwnedWriteHalf = tokio::io::WriteHalf<TcpStream>;

    /// Splits a stream into halves that can move to different tasks.
    pub fn into_split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
        tokio::io::split(stream)
    }

    /// Conditions a fault imposes on the link from one address to another.
    #[derive(Debug, Clone, Copy, Default, PartialEq)]
    pub struct LinkCondition {
        /// Added to madsim's own latency draw for every segment.
        pub delay: Duration,
        /// The chance that a segment is lost and retransmitted (TCP's way:
        /// after a retransmission timeout that doubles per loss).
        pub loss: f64,
    }

    thread_local! {
        // The simulation runs on one thread; the engine sets these between
        // events, the streams read them as they send.
        static LINKS: RefCell<BTreeMap<(IpAddr, IpAddr), LinkCondition>> =
            const { RefCell::new(BTreeMap::new()) };
    }

    /// The engine's control over link conditions (the services never call these).
    pub mod links {
        use super::{LinkCondition, LINKS};
        use std::net::IpAddr;

        /// Sets the conditions from `from` to `to`; the default removes them.
        pub fn set(from: IpAddr, to: IpAddr, condition: LinkCondition) {
            LINKS.with(|l| {
                let mut links = l.borrow_mut();
                if condition == LinkCondition::default() {
                    links.remove(&(from, to));
                } else {
                    links.insert((from, to), condition);
                }
            });
        }

        /// The conditions from `from` to `to`.
        pub fn get(from: IpAddr, to: IpAddr) -> LinkCondition {
            LINKS.with(|l| l.borrow().get(&(from, to)).copied().unwrap_or_default())
        }

        /// Forgets every condition: a new simulation starts clean.
        pub fn clear() {
            LINKS.with(|l| l.borrow_mut().clear());
        }
    }

    /// Linux's minimum retransmission timeout.
    const MIN_RTO: Duration = Duration::from_millis(200);
    const MAX_RTO: Duration = Duration::from_secs(60);

    /// How long a segment sent now on `from → to` is held before madsim
    /// carries it: the link's delay, plus a retransmission timeout for each
    /// time it is lost.
    fn hold(from: IpAddr, to: IpAddr) -> Duration {
        let condition = links::get(from, to);
        let mut held = condition.delay;
        if condition.loss > 0.0 {
            use madsim::rand::Rng;
            let mut rng = madsim::rand::thread_rng();
            let mut rto = MIN_RTO;
            while rng.gen_bool(condition.loss.min(0.99)) {
                held += rto;
                rto = (rto * 2).min(MAX_RTO);
            }
        }
        held
    }

    pub struct TcpListener(tokio::net::TcpListener);

    impl TcpListener {
        pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
            tokio::net::TcpListener::bind(addr).await.map(TcpListener)
        }

        pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
            let (stream, peer) = self.0.accept().await?;
            Ok((TcpStream::new(stream)?, peer))
        }

        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            self.0.local_addr()
        }
    }

    /// Where a stream's flushed segments go.
    enum Sender {
        /// No segment has been held yet: straight to madsim.
        Direct(WriteHalf<tokio::net::TcpStream>),
        /// A segment was held once: this and every later segment go through
        /// the forwarder (with the time each may leave), so none overtakes
        /// a held one.
        Forwarded(mpsc::UnboundedSender<(Instant, Vec<u8>)>),
        /// Only while switching from one to the other.
        Switching,
    }

    /// A madsim stream whose segments obey the link's conditions.
    pub struct TcpStream {
        reader: ReadHalf<tokio::net::TcpStream>,
        sender: Sender,
        unflushed: Vec<u8>,
        /// No segment leaves before the one flushed before it.
        last_release: Instant,
        local: SocketAddr,
        peer: SocketAddr,
    }

    impl TcpStream {
        /// Connects, then waits out the handshake on the links' conditions
        /// (SYN out, SYN-ACK back), as turmoil's handshake does: a client
        /// that bounds its connect by a timeout sees the same slow links.
        pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
            let stream = TcpStream::new(tokio::net::TcpStream::connect(addr).await?)?;
            let (local, peer) = (stream.local.ip(), stream.peer.ip());
            let handshake = hold(local, peer) + hold(peer, local);
            if !handshake.is_zero() {
                tokio::time::sleep(handshake).await;
            }
            Ok(stream)
        }

        fn new(stream: tokio::net::TcpStream) -> io::Result<TcpStream> {
            let (local, peer) = (stream.local_addr()?, stream.peer_addr()?);
            let (reader, writer) = tokio::io::split(stream);
            Ok(TcpStream {
                reader,
                sender: Sender::Direct(writer),
                unflushed: Vec::new(),
                last_release: Instant::now(),
                local,
                peer,
            })
        }

        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            Ok(self.local)
        }

        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            Ok(self.peer)
        }

        pub fn set_nodelay(&self, _nodelay: bool) -> io::Result<()> {
            Ok(())
        }
    }

    /// Carries a stream's segments to madsim, each at its release time.
    async fn forward(
        mut segments: mpsc::UnboundedReceiver<(Instant, Vec<u8>)>,
        mut writer: WriteHalf<tokio::net::TcpStream>,
    ) {
        while let Some((release, segment)) = segments.recv().await {
            if release > Instant::now() {
                tokio::time::sleep_until(release).await;
            }
            if writer.write_all(&segment).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
    }

    /// Writes and flushes `unflushed` to madsim's stream now, keeping what
    /// it could not take for the next flush.
    fn write_through(
        writer: &mut WriteHalf<tokio::net::TcpStream>,
        unflushed: &mut Vec<u8>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while !unflushed.is_empty() {
            match Pin::new(&mut *writer).poll_write(cx, unflushed) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    unflushed.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Pin::new(writer).poll_flush(cx)
    }

    impl AsyncRead for TcpStream {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.reader).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for TcpStream {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.unflushed.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let this = &mut *self;
            if this.unflushed.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let held = hold(this.local.ip(), this.peer.ip());
            if let Sender::Direct(writer) = &mut this.sender {
                if held.is_zero() {
                    return write_through(writer, &mut this.unflushed, cx);
                }
                let Sender::Direct(writer) = std::mem::replace(&mut this.sender, Sender::Switching)
                else {
                    unreachable!("matched Direct above")
                };
                let (outbox, segments) = mpsc::unbounded_channel();
                tokio::spawn(forward(segments, writer));
                this.sender = Sender::Forwarded(outbox);
            }
            let Sender::Forwarded(outbox) = &this.sender else {
                unreachable!("a stream leaves Direct only for Forwarded")
            };
            let release = (Instant::now() + held).max(this.last_release);
            this.last_release = release;
            let segment = std::mem::take(&mut this.unflushed);
            Poll::Ready(
                outbox.send((release, segment)).map_err(|_| {
                    io::Error::new(io::ErrorKind::ConnectionReset, "connection reset")
                }),
            )
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.poll_flush(cx)
        }
    }
}

pub use engine::*;
