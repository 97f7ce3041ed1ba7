//! ZMTP over TCP: `tcp://host:port`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::net::{TcpListener, TcpStream};

use crate::{
    BoxFuture, BoxedStream, Endpoint, Error, Host, HostPort, Link, Listener, Result, Transport,
    TransportKind,
};

/// The TCP transport. Connections get `TCP_NODELAY`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpTransport;

/// Every address an endpoint stands for (a name may resolve to IPv6 and IPv4 addresses).
async fn resolve(endpoint: &Endpoint, action: &'static str) -> Result<Vec<SocketAddr>> {
    let Endpoint::Tcp(HostPort { host, port }) = endpoint else {
        return Err(Error::Endpoint {
            endpoint: endpoint.to_string(),
            reason: "not a tcp:// endpoint".into(),
        });
    };
    let io_err = |source| Error::Io {
        action,
        endpoint: endpoint.to_string(),
        source,
    };
    match host {
        Host::Any => Ok(vec![SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            *port,
        )]),
        Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, *port)]),
        Host::Name(name) => {
            let addrs: Vec<_> = tokio::net::lookup_host((name.as_str(), *port))
                .await
                .map_err(io_err)?
                .collect();
            if addrs.is_empty() {
                return Err(io_err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("host `{name}` has no address"),
                )));
            }
            Ok(addrs)
        }
    }
}

/// A bound TCP listener.
#[derive(Debug)]
pub struct TcpBound {
    listener: TcpListener,
    endpoint: Endpoint,
}

impl Listener for TcpBound {
    fn local_endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Link, String)>> {
        Box::pin(async move {
            let (stream, addr) = self.listener.accept().await?;
            stream.set_nodelay(true)?;
            Ok((
                Link::Stream(Box::new(stream) as BoxedStream),
                addr.to_string(),
            ))
        })
    }
}

impl Transport for TcpTransport {
    fn scheme(&self) -> &'static str {
        "tcp"
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Stream
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let addrs = resolve(endpoint, "bind").await?;
            let io_err = |source| Error::Io {
                action: "bind",
                endpoint: endpoint.to_string(),
                source,
            };
            let listener = TcpListener::bind(&addrs[..]).await.map_err(io_err)?;
            let local = listener.local_addr().map_err(io_err)?;
            let endpoint = Endpoint::Tcp(HostPort {
                host: Host::Ip(local.ip()),
                port: local.port(),
            });
            Ok(Box::new(TcpBound { listener, endpoint }) as Box<dyn Listener>)
        })
    }

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
        Box::pin(async move {
            let addrs = resolve(endpoint, "connect").await?;
            let io_err = |source| Error::Io {
                action: "connect",
                endpoint: endpoint.to_string(),
                source,
            };
            // tokio tries each address in turn and reports the last error
            let stream = TcpStream::connect(&addrs[..]).await.map_err(io_err)?;
            stream.set_nodelay(true).map_err(io_err)?;
            let peer = stream.peer_addr().map_err(io_err)?;
            Ok((
                Link::Stream(Box::new(stream) as BoxedStream),
                peer.to_string(),
            ))
        })
    }
}
