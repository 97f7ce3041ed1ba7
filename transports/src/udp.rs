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

use std::collections::VecDeque;

use crate::datagram;
use crate::link::{Discard, Hello, Inbox, MessageLink, QueueOutbox, Started, Wake};
use crate::subscription::subscribe_message;
use crate::{
    BoxFuture, Endpoint, Error, Host, HostPort, Link, Listener, Multipart, Result, SocketType,
    Transport, TransportKind,
};

/// The UDP transport.
#[derive(Debug, Default, Clone, Copy)]
pub struct UdpTransport;

/// One end of a UDP "connection": a connected sender (PUB) or a bound receiver (SUB).
struct UdpLink {
    socket: Arc<UdpSocket>,
    sender: bool,
}

impl MessageLink for UdpLink {
    /// No handshake on the wire: a sending end stands for a subscriber to everything, a
    /// receiving end for a publisher.
    fn handshake(&mut self, _ours: Hello) -> BoxFuture<'_, std::result::Result<Hello, String>> {
        let peer = if self.sender {
            SocketType::Sub
        } else {
            SocketType::Pub
        };
        Box::pin(async move { Ok(Hello::new(peer)) })
    }

    fn start(
        self: Box<Self>,
        inbox: Arc<dyn Inbox>,
        wake: Wake,
    ) -> BoxFuture<'static, std::result::Result<Started, String>> {
        Box::pin(async move {
            let UdpLink { socket, sender } = *self;
            if sender {
                // the "peer" subscribes to everything: the receivers filter
                let mut all: VecDeque<Multipart> = [subscribe_message(b"")].into();
                inbox.deliver(&mut all, 1);
                let outbox = QueueOutbox::new(wake);
                let driver = send_datagrams(socket, outbox.clone());
                return Ok(Started {
                    outbox,
                    driver: Box::pin(driver),
                });
            }
            Ok(Started {
                outbox: Arc::new(Discard),
                driver: Box::pin(receive_datagrams(socket, inbox)),
            })
        })
    }
}

/// Sends each queued message as one datagram.
async fn send_datagrams(socket: Arc<UdpSocket>, outbox: Arc<QueueOutbox>) -> String {
    loop {
        for msg in outbox.next_batch().await {
            match datagram::encode(&msg) {
                Ok(bytes) => {
                    if let Err(e) = socket.send(&bytes).await {
                        tracing::debug!(error = %e, "datagram not sent");
                    }
                }
                Err(reason) => tracing::warn!(%reason, "message not sent as a datagram"),
            }
        }
    }
}

/// Delivers each datagram that decodes as a message; one that does not is logged and skipped.
async fn receive_datagrams(socket: Arc<UdpSocket>, inbox: Arc<dyn Inbox>) -> String {
    let mut buf = vec![0u8; datagram::MAX_DATAGRAM + 1];
    let mut batch = VecDeque::with_capacity(1);
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) => return format!("receive error: {e}"),
        };
        match datagram::decode(&buf[..n]) {
            Ok(msg) => {
                batch.push_back(msg);
                inbox.deliver(&mut batch, 1);
                if inbox.len() >= inbox.capacity() {
                    inbox.room().await;
                }
            }
            Err(reason) => tracing::warn!(%from, %reason, "dropped a malformed datagram"),
        }
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
                    let link = Link::Messages(Box::new(UdpLink {
                        socket: Arc::new(socket),
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
                Link::Messages(Box::new(UdpLink {
                    socket: Arc::new(socket),
                    sender: true,
                })),
                dest.to_string(),
            ))
        })
    }
}
