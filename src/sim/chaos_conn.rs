//! The simulator's connections, with a handle that lets the chaos hang up on one: the `drop`
//! and `hang` faults close the connection without a byte of answer, with a FIN or a reset.
//!
//! [`ChaosListener`] wraps the TCP listener; each accepted stream carries a shared
//! [`ConnState`], which reaches the request handlers as `ConnectInfo<Conn>`. Once cut, the
//! stream refuses every read and write: hyper gives up on the connection and drops it, and the
//! client sees the connection close (or reset) before any answer.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How a connection is hung up on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// A normal close (FIN) without an answer.
    Close,
    /// An abortive close (RST): "connection reset by peer".
    Reset,
}

const OPEN: u8 = 0;
const CLOSE: u8 = 1;
const RESET: u8 = 2;

#[derive(Debug, Default)]
pub(crate) struct ConnState {
    cut: AtomicU8,
}

/// A handle on one connection, for the request handlers (`ConnectInfo<Conn>`).
#[derive(Clone, Debug)]
pub(crate) struct Conn(Arc<ConnState>);

impl Conn {
    pub(crate) fn cut(&self, how: Cut) {
        let v = match how {
            Cut::Close => CLOSE,
            Cut::Reset => RESET,
        };
        self.0.cut.store(v, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, ChaosListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, ChaosListener>) -> Self {
        Conn(Arc::clone(&stream.io().state))
    }
}

pub(crate) struct ChaosListener {
    inner: TcpListener,
}

impl ChaosListener {
    pub(crate) fn new(inner: TcpListener) -> ChaosListener {
        ChaosListener { inner }
    }
}

impl Listener for ChaosListener {
    type Io = ChaosStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (ChaosStream, SocketAddr) {
        let (io, addr) = Listener::accept(&mut self.inner).await;
        let _ = io.set_nodelay(true);
        (
            ChaosStream {
                io,
                state: Arc::new(ConnState::default()),
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

pub(crate) struct ChaosStream {
    io: TcpStream,
    state: Arc<ConnState>,
}

impl ChaosStream {
    /// `Some(error)` once the connection is cut: a reset sets a zero linger first, so that
    /// closing the socket sends an RST.
    fn refused(&self) -> Option<io::Error> {
        match self.state.cut.load(Ordering::SeqCst) {
            OPEN => None,
            RESET => {
                // A zero linger never blocks: the close sends an RST at once.
                #[allow(deprecated)]
                let _ = self.io.set_linger(Some(Duration::ZERO));
                Some(io::Error::from(io::ErrorKind::ConnectionReset))
            }
            _ => Some(io::Error::from(io::ErrorKind::ConnectionAborted)),
        }
    }
}

impl AsyncRead for ChaosStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.refused() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for ChaosStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.refused() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.refused() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.refused() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.refused().is_some() {
            // Nothing more goes out; dropping the socket closes it.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
