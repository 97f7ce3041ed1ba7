//! ZMTP over Unix domain sockets: `ipc://path`, `ipc://@name` (Linux abstract namespace) and
//! `ipc://*` (a fresh path in the temporary directory, as libzmq does).
//!
//! Binding a path whose socket file was left behind by a dead process replaces the file; a
//! path another process is listening on is "address in use"; a path that holds anything but a
//! socket (a regular file, a directory, a FIFO) is refused and left alone. The file is removed when the
//! listener closes. A path longer than the operating system allows is refused with the limit.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::{UnixListener, UnixStream};

use crate::{
    BoxFuture, BoxedStream, Endpoint, Error, Link, Listener, Result, Transport, TransportKind,
};

/// Longest path a Unix socket address holds on this system (`sun_path` less its NUL).
pub const MAX_PATH_LEN: usize = 107;

/// The IPC transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct IpcTransport;

fn path_of(endpoint: &Endpoint) -> Result<PathBuf> {
    match endpoint {
        Endpoint::Ipc(path) => {
            if path.as_os_str() == "*" {
                static N: AtomicU64 = AtomicU64::new(0);
                let n = N.fetch_add(1, Ordering::Relaxed);
                return Ok(
                    std::env::temp_dir().join(format!("actormq-{}-{n}.ipc", std::process::id()))
                );
            }
            let len = path.as_os_str().len();
            if len > MAX_PATH_LEN {
                return Err(Error::Endpoint {
                    endpoint: endpoint.to_string(),
                    reason: format!(
                        "the path is {len} bytes; a Unix socket path holds at most {MAX_PATH_LEN}"
                    ),
                });
            }
            if len == 0 {
                return Err(Error::Endpoint {
                    endpoint: endpoint.to_string(),
                    reason: "empty path".into(),
                });
            }
            Ok(path.clone())
        }
        other => Err(Error::Endpoint {
            endpoint: other.to_string(),
            reason: "not an ipc:// endpoint".into(),
        }),
    }
}

fn abstract_name(path: &Path) -> Option<&[u8]> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().strip_prefix(b"@")
}

#[cfg(target_os = "linux")]
fn bind_abstract(name: &[u8]) -> io::Result<UnixListener> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    let std_listener = std::os::unix::net::UnixListener::bind_addr(&addr)?;
    std_listener.set_nonblocking(true)?;
    UnixListener::from_std(std_listener)
}

#[cfg(target_os = "linux")]
fn connect_abstract(name: &[u8]) -> io::Result<UnixStream> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    let std_stream = std::os::unix::net::UnixStream::connect_addr(&addr)?;
    std_stream.set_nonblocking(true)?;
    UnixStream::from_std(std_stream)
}

#[cfg(not(target_os = "linux"))]
fn bind_abstract(_name: &[u8]) -> io::Result<UnixListener> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract socket names (ipc://@name) exist on Linux only",
    ))
}

#[cfg(not(target_os = "linux"))]
fn connect_abstract(_name: &[u8]) -> io::Result<UnixStream> {
    bind_abstract(_name).map(|_| unreachable!())
}

/// Binds a path, replacing a stale socket file but never a live one, nor anything that is not a
/// socket.
async fn bind_path(path: &Path) -> io::Result<UnixListener> {
    match UnixListener::bind(path) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            // Someone listening there, or a file left by a dead process?
            match UnixStream::connect(path).await {
                Ok(_) => Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "address in use: another process is listening on this path",
                )),
                Err(c) if c.kind() == io::ErrorKind::ConnectionRefused => {
                    // only a socket file is stale: a regular file (connecting to one is
                    // refused too), a directory or a FIFO is someone's data
                    use std::os::unix::fs::FileTypeExt;
                    let meta = std::fs::symlink_metadata(path)?;
                    if !meta.file_type().is_socket() {
                        return Err(io::Error::new(
                            io::ErrorKind::AlreadyExists,
                            format!(
                                "{} exists and is not a socket: not replaced",
                                path.display()
                            ),
                        ));
                    }
                    std::fs::remove_file(path)?;
                    UnixListener::bind(path)
                }
                Err(_) => Err(e),
            }
        }
        other => other,
    }
}

/// A bound IPC listener; removes its socket file when dropped. Each accepted peer is
/// described as the endpoint and its number, from 1: `ipc:///tmp/x#3`.
#[derive(Debug)]
pub struct IpcBound {
    listener: UnixListener,
    endpoint: Endpoint,
    file: Option<PathBuf>,
    accepted: u64,
}

impl Drop for IpcBound {
    fn drop(&mut self) {
        if let Some(path) = &self.file {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Listener for IpcBound {
    fn local_endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Link, String)>> {
        Box::pin(async move {
            let (stream, _) = self.listener.accept().await?;
            // Unix peers have no address of their own: number them, so that two peers of
            // one endpoint are told apart (`ipc:///tmp/x#1`, `ipc:///tmp/x#2`)
            self.accepted += 1;
            Ok((
                Link::Stream(Box::new(stream) as BoxedStream),
                format!("{}#{}", self.endpoint, self.accepted),
            ))
        })
    }
}

impl Transport for IpcTransport {
    fn scheme(&self) -> &'static str {
        "ipc"
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Stream
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let path = path_of(endpoint)?;
            let io_err = |source| Error::Io {
                action: "bind",
                endpoint: endpoint.to_string(),
                source,
            };
            let (listener, file) = match abstract_name(&path) {
                Some(name) => (bind_abstract(name).map_err(io_err)?, None),
                None => (bind_path(&path).await.map_err(io_err)?, Some(path.clone())),
            };
            let endpoint = Endpoint::Ipc(path);
            Ok(Box::new(IpcBound {
                listener,
                endpoint,
                file,
                accepted: 0,
            }) as Box<dyn Listener>)
        })
    }

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
        Box::pin(async move {
            let path = path_of(endpoint)?;
            let io_err = |source| Error::Io {
                action: "connect",
                endpoint: endpoint.to_string(),
                source,
            };
            let stream = match abstract_name(&path) {
                Some(name) => connect_abstract(name).map_err(io_err)?,
                None => UnixStream::connect(&path).await.map_err(io_err)?,
            };
            Ok((
                Link::Stream(Box::new(stream) as BoxedStream),
                endpoint.to_string(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn temp_path(what: &str) -> PathBuf {
        std::env::temp_dir().join(format!("actormq-ipc-{what}-{}", std::process::id()))
    }

    #[test]
    fn binding_over_a_regular_file_is_refused_and_the_file_kept() {
        runtime().block_on(async {
            let path = temp_path("regular");
            std::fs::write(&path, b"precious data").unwrap();
            let ep = Endpoint::Ipc(path.clone());
            let Err(err) = IpcTransport.bind(&ep).await else {
                panic!("bound over a regular file");
            };
            let err = err.to_string();
            assert!(err.contains("exists and is not a socket"), "{err}");
            assert_eq!(std::fs::read(&path).unwrap(), b"precious data");
            std::fs::remove_file(&path).unwrap();
        });
    }

    #[test]
    fn each_accepted_peer_has_its_own_description() {
        runtime().block_on(async {
            let path = temp_path("peers");
            let ep = Endpoint::Ipc(path.clone());
            let mut listener = IpcTransport.bind(&ep).await.unwrap();
            let _a = UnixStream::connect(&path).await.unwrap();
            let _b = UnixStream::connect(&path).await.unwrap();
            let (_, first) = listener.accept().await.unwrap();
            let (_, second) = listener.accept().await.unwrap();
            assert_ne!(first, second);
            assert!(first.starts_with(&ep.to_string()), "{first}");
            drop(listener);
            assert!(!path.exists());
        });
    }
}
