//! `udp://`: publish/subscribe over datagrams, unicast or multicast.
//!
//! A PUB *connects* to a destination (`udp://10.0.0.5:5555`, or a multicast group
//! `udp://239.0.0.1:5555`); a SUB *binds* to receive (`udp://*:5555`, or a group it joins,
//! optionally through a local interface: `udp://192.168.1.5;239.0.0.1:5555`). Each message is
//! one datagram ([`crate::datagram`]); there is no handshake, so a PUB sends everything and the
//! SUB filters.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::UdpSocket;

use crate::datagram::Datagrams;
use crate::{
    BoxFuture, Endpoint, Error, Host, HostPort, Link, Listener, Result, Transport, TransportKind,
};

/// The UDP transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct UdpTransport;

struct UdpEnd {
    socket: UdpSocket,
    sender: bool,
}

impl Datagrams for UdpEnd {
    fn send<'a>(&'a self, datagram: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move { self.socket.send(datagram).await.map(|_| ()) })
    }

    fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, String)>> {
        Box::pin(async move {
            let (n, from) = self.socket.recv_from(buf).await?;
            Ok((n, from.to_string()))
        })
    }

    fn is_sender(&self) -> bool {
        self.sender
    }
}

fn parts(endpoint: &Endpoint) -> Result<(&HostPort, Option<Ipv4Addr>)> {
    let Endpoint::Udp { addr, interface } = endpoint else {
        return Err(Error::Endpoint {
            endpoint: endpoint.to_string(),
            reason: "not a udp:// endpoint".into(),
        });
    };
    let interface = match interface {
        None => None,
        Some(i) => Some(i.parse::<Ipv4Addr>().map_err(|_| Error::Endpoint {
            endpoint: endpoint.to_string(),
            reason: format!("interface `{i}` must be given as its IPv4 address"),
        })?),
    };
    Ok((addr, interface))
}

async fn resolve(endpoint: &Endpoint, hp: &HostPort, action: &'static str) -> Result<SocketAddr> {
    let io_err = |source| Error::Io {
        action,
        endpoint: endpoint.to_string(),
        source,
    };
    match &hp.host {
        Host::Any => Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), hp.port)),
        Host::Ip(ip) => Ok(SocketAddr::new(*ip, hp.port)),
        Host::Name(name) => tokio::net::lookup_host((name.as_str(), hp.port))
            .await
            .map_err(io_err)?
            .find(SocketAddr::is_ipv4)
            .ok_or_else(|| {
                io_err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("host `{name}` has no IPv4 address"),
                ))
            }),
    }
}

/// A bound UDP endpoint: yields its one datagram link once.
struct UdpBound {
    endpoint: Endpoint,
    socket: Option<UdpSocket>,
}

impl Listener for UdpBound {
    fn local_endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn accept(&mut self) -> BoxFuture<'_, io::Result<(Link, String)>> {
        Box::pin(async move {
            match self.socket.take() {
                Some(socket) => {
                    let link = Link::Datagram(Arc::new(UdpEnd {
                        socket,
                        sender: false,
                    }));
                    Ok((link, format!("datagrams to {}", self.endpoint)))
                }
                None => std::future::pending().await,
            }
        })
    }
}

fn bind_receiver(addr: SocketAddr, interface: Option<Ipv4Addr>) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // several receivers of one multicast group may share a port, as in libzmq
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    match addr.ip() {
        IpAddr::V4(group) if group.is_multicast() => {
            socket.bind(&SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), addr.port()).into())?;
            socket.join_multicast_v4(&group, &interface.unwrap_or(Ipv4Addr::UNSPECIFIED))?;
        }
        _ => socket.bind(&addr.into())?,
    }
    UdpSocket::from_std(socket.into())
}

impl Transport for UdpTransport {
    fn scheme(&self) -> &'static str {
        "udp"
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Datagram
    }

    fn bind<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let (hp, interface) = parts(endpoint)?;
            let addr = resolve(endpoint, hp, "bind").await?;
            let io_err = |source| Error::Io {
                action: "bind",
                endpoint: endpoint.to_string(),
                source,
            };
            let socket = bind_receiver(addr, interface).map_err(io_err)?;
            let local = socket.local_addr().map_err(io_err)?;
            let bound = if addr.ip().is_multicast() {
                addr
            } else {
                local
            };
            let endpoint = Endpoint::Udp {
                addr: HostPort {
                    host: Host::Ip(bound.ip()),
                    port: local.port(),
                },
                interface: interface.map(|i| i.to_string()),
            };
            Ok(Box::new(UdpBound {
                endpoint,
                socket: Some(socket),
            }) as Box<dyn Listener>)
        })
    }

    fn connect<'a>(&'a self, endpoint: &'a Endpoint) -> BoxFuture<'a, Result<(Link, String)>> {
        Box::pin(async move {
            let (hp, interface) = parts(endpoint)?;
            let dest = resolve(endpoint, hp, "connect").await?;
            let io_err = |source| Error::Io {
                action: "connect",
                endpoint: endpoint.to_string(),
                source,
            };
            let local = SocketAddr::new(IpAddr::V4(interface.unwrap_or(Ipv4Addr::UNSPECIFIED)), 0);
            let socket = UdpSocket::bind(local).await.map_err(io_err)?;
            if let IpAddr::V4(group) = dest.ip() {
                if group.is_multicast() {
                    socket.set_multicast_loop_v4(true).map_err(io_err)?;
                    if let Some(iface) = interface {
                        socket2::SockRef::from(&socket)
                            .set_multicast_if_v4(&iface)
                            .map_err(io_err)?;
                    }
                }
            }
            socket.connect(dest).await.map_err(io_err)?;
            Ok((
                Link::Datagram(Arc::new(UdpEnd {
                    socket,
                    sender: true,
                })),
                dest.to_string(),
            ))
        })
    }
}
