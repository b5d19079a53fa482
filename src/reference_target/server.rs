use std::future::Future;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::{Listener, ListenerExt as _};
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::config::{StoreSpec, TargetConfig};
use super::error::{Result, TargetError};
use super::http::router;
use super::inject::Injector;
use super::memory::MemoryStore;
use super::postgres::PostgresStore;
use super::store::Store;

/// A target that is bound and connected to its store, not yet serving.
pub struct Running {
    listener: TcpListener,
    router: Router,
    /// The address actually bound (port 0 resolved).
    pub addr: SocketAddr,
    grace: Duration,
    max_connections: usize,
    /// Kept here as well as in the store, for the totals at shutdown.
    injector: Option<Arc<Injector>>,
}

/// Binds the port and opens the store; every start-up error surfaces here, before anything is served.
pub async fn serve(config: &TargetConfig) -> Result<Running> {
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|source| {
            if source.kind() == io::ErrorKind::AddrInUse {
                TargetError::PortInUse {
                    host: config.host.clone(),
                    port: config.port,
                }
            } else {
                TargetError::Bind {
                    host: config.host.clone(),
                    port: config.port,
                    source,
                }
            }
        })?;
    let addr = listener.local_addr().map_err(TargetError::Serve)?;
    let injector = config.inject.as_ref().map(|spec| Arc::new(Injector::new(spec)));
    let store = match (&config.store, &injector) {
        (StoreSpec::Memory, None) => Store::Memory(MemoryStore::new()),
        (StoreSpec::Memory, Some(injector)) => Store::Memory(MemoryStore::new().with_injector(Arc::clone(injector))),
        (StoreSpec::Postgres(url), injector) => {
            let store = PostgresStore::connect(url, config.pool_size).await?;
            Store::Postgres(match injector {
                Some(injector) => store.with_injector(Arc::clone(injector)),
                None => store,
            })
        }
    };
    Ok(Running {
        listener,
        router: router(store, config.max_body, config.pop_shape),
        addr,
        grace: Duration::from_secs(config.shutdown_grace_secs),
        max_connections: config.max_connections,
        injector,
    })
}

impl Running {
    /// Serves until `shutdown` completes, then lets in-flight requests finish (for at most the grace period).
    pub async fn until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let stopping = Arc::new(Notify::new());
        let signal_stop = Arc::clone(&stopping);
        let listener = self.listener.tap_io(|tcp| {
            // Responses are small single writes; Nagle would only add delay to pipelined keep-alive traffic.
            let _ = tcp.set_nodelay(true);
        });
        let listener = Bounded {
            inner: listener,
            permits: Arc::new(Semaphore::new(self.max_connections.max(1))),
        };
        let server = axum::serve(listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            signal_stop.notify_one();
        });
        let grace = self.grace;
        tokio::select! {
            result = server => result.map_err(TargetError::Serve),
            () = async { stopping.notified().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("requests still in flight {} s after the stop signal; exiting anyway", grace.as_secs());
                Ok(())
            }
        }
    }
}

/// A listener that holds at most as many connections as it has permits: the next is accepted only when one closes,
/// and waits in the kernel's listen backlog meanwhile.
struct Bounded<L> {
    inner: L,
    permits: Arc<Semaphore>,
}

impl<L: Listener> Listener for Bounded<L> {
    type Io = Counted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // the semaphore is never closed, so acquiring only ever waits
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed");
        let (io, addr) = self.inner.accept().await;
        (Counted { io, _permit: permit }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that gives its permit back when it is dropped.
struct Counted<I> {
    io: I,
    _permit: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Counted<I> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Counted<I> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// `pushpop-load target`: runs until SIGINT or SIGTERM, on a runtime of its own.
pub fn run(config: &TargetConfig) -> Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = config.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = builder
        .enable_all()
        .thread_name("pushpop-target")
        .build()
        .map_err(TargetError::Runtime)?;
    runtime.block_on(async {
        // Handlers go in before the address is announced, so a stop sent right after start-up is not lost.
        let stop = termination_signal().map_err(TargetError::Runtime)?;
        let running = serve(config).await?;
        let injector = running.injector.clone();
        if let Some(injector) = &injector {
            // on stderr, whatever the log level: a target that loses items on purpose must never pass unnoticed
            eprintln!(
                "pushpop-load: warning: fault injection is on ({}): pops lose and duplicate items on purpose",
                injector.describe()
            );
        }
        println!(
            "pushpop-load target listening on http://{} (store: {})",
            running.addr, config.store
        );
        let _ = io::stdout().flush();
        tracing::info!(addr = %running.addr, store = %config.store, "serving");
        running.until(stop).await?;
        if let Some(injector) = injector {
            let counts = injector.counts();
            tracing::warn!(
                dropped = counts.dropped,
                duplicated = counts.duplicated,
                "fault injection totals"
            );
        }
        tracing::info!("stopped");
        Ok(())
    })
}

fn termination_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
