//! ZMTP over TCP: `tcp://host:port`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::net::{TcpListener, TcpStream};

use crate::{BoxFuture, BoxedStream, Endpoint, Error, Host, HostPort, Listener, Result, Transport};

/// The TCP transport. Connections get `TCP_NODELAY`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpTransport;

async fn resolve(endpoint: &Endpoint, action: &'static str) -> Result<SocketAddr> {
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
        Host::Any => Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), *port)),
        Host::Ip(ip) => Ok(SocketAddr::new(*ip, *port)),
        Host::Name(name) => tokio::net::lookup_host((name.as_str(), *port))
            .await
            .map_err(io_err)?
            .next()
            .ok_or_else(|| {
                io_err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("host `{name}` has no address"),
                ))
            }),
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

    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxedStream, String)>> {
        Box::pin(async move {
            let (stream, addr) = self.listener.accept().await?;
            stream.set_nodelay(true)?;
            Ok((Box::new(stream) as BoxedStream, addr.to_string()))
        })
    }
}

impl Transport for TcpTransport {
    fn scheme(&self) -> &'static str {
        "tcp"
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let addr = resolve(endpoint, "bind").await?;
            let io_err = |source| Error::Io {
                action: "bind",
                endpoint: endpoint.to_string(),
                source,
            };
            let listener = TcpListener::bind(addr).await.map_err(io_err)?;
            let local = listener.local_addr().map_err(io_err)?;
            let endpoint = Endpoint::Tcp(HostPort {
                host: Host::Ip(local.ip()),
                port: local.port(),
            });
            Ok(Box::new(TcpBound { listener, endpoint }) as Box<dyn Listener>)
        })
    }

    fn connect<'a>(
        &'a self,
        endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<(BoxedStream, String)>> {
        Box::pin(async move {
            let addr = resolve(endpoint, "connect").await?;
            let io_err = |source| Error::Io {
                action: "connect",
                endpoint: endpoint.to_string(),
                source,
            };
            let stream = TcpStream::connect(addr).await.map_err(io_err)?;
            stream.set_nodelay(true).map_err(io_err)?;
            Ok((Box::new(stream) as BoxedStream, addr.to_string()))
        })
    }
}
