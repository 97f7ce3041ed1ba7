//! `udp://`: publish/subscribe over datagrams, unicast or multicast.
//!
//! A PUB *connects* to a destination (`udp://10.0.0.5:5555`, or a multicast group
//! `udp://239.0.0.1:5555`); a SUB *binds* to receive (`udp://*:5555`, or a group it joins,
//! optionally through a local interface: `udp://192.168.1.5;239.0.0.1:5555`). Each message is
//! one datagram ([`crate::datagram`]); there is no handshake, so a PUB sends everything and the
//! SUB filters.
//!
//! A DGRAM socket uses no framing: each datagram is a plain payload, received as
//! `[sender address, payload]` and sent from `[address, payload]`, so that any UDP program (a
//! classic `recvfrom`/`sendto` server or client) is a peer. It may bind and connect; a connected
//! one hears only from the address it connected to, and both send anywhere.

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

/// One end of a UDP "connection": a connected sender (PUB) or a bound receiver (SUB), or a
/// DGRAM socket's endpoint, which does both without framing.
struct UdpLink {
    socket: Arc<UdpSocket>,
    sender: bool,
    /// Where a connected socket sends (none for a bound one).
    dest: Option<SocketAddr>,
    /// Plain datagrams (our socket is a DGRAM), set at the hello.
    raw: bool,
}

impl MessageLink for UdpLink {
    /// No handshake on the wire: a sending end stands for a subscriber to everything, a
    /// receiving end for a publisher.
    /// For a DGRAM socket, the peer is another DGRAM endpoint, named by the address it is
    /// connected to (none when bound), so that the socket can route by address.
    fn handshake(&mut self, ours: Hello) -> BoxFuture<'_, std::result::Result<Hello, String>> {
        self.raw = ours.socket_type == SocketType::Dgram;
        let peer = if self.raw {
            Hello {
                socket_type: SocketType::Dgram,
                identity: self
                    .dest
                    .map(|d| bytes::Bytes::from(d.to_string()))
                    .unwrap_or_default(),
            }
        } else if self.sender {
            Hello::new(SocketType::Sub)
        } else {
            Hello::new(SocketType::Pub)
        };
        Box::pin(async move { Ok(peer) })
    }

    fn start(
        self: Box<Self>,
        inbox: Arc<dyn Inbox>,
        wake: Wake,
    ) -> BoxFuture<'static, std::result::Result<Started, String>> {
        Box::pin(async move {
            let UdpLink {
                socket,
                sender,
                dest,
                raw,
            } = *self;
            if raw {
                let outbox = QueueOutbox::new(wake);
                let sending = send_raw(socket.clone(), dest, outbox.clone(), inbox.clone());
                let receiving = receive_datagrams(socket, inbox, true);
                let driver = async move {
                    tokio::select! {
                        why = sending => why,
                        why = receiving => why,
                    }
                };
                return Ok(Started {
                    outbox,
                    driver: Box::pin(driver),
                });
            }
            if sender {
                // the "peer" subscribes to everything: the receivers filter
                let mut all: VecDeque<Multipart> = [subscribe_message(b"")].into();
                inbox.deliver(&mut all, 1);
                let outbox = QueueOutbox::new(wake);
                let driver = send_datagrams(socket, outbox.clone(), inbox);
                return Ok(Started {
                    outbox,
                    driver: Box::pin(driver),
                });
            }
            Ok(Started {
                outbox: Arc::new(Discard),
                driver: Box::pin(receive_datagrams(socket, inbox, false)),
            })
        })
    }
}

/// Counts the datagrams of one batch that were not sent, and reports them lost together
/// (one log line per batch, not per datagram, when a receiver is missing).
#[derive(Default)]
struct Unsent {
    count: usize,
    last: String,
}

impl Unsent {
    fn add(&mut self, why: String) {
        self.count += 1;
        self.last = why;
    }

    fn report(&mut self, inbox: &dyn Inbox) {
        if self.count > 0 {
            let why = format!("datagrams not sent (the last: {})", self.last);
            inbox.lost(std::mem::take(&mut self.count), &why);
        }
    }
}

/// Sends each queued message as one datagram; one not sent is reported lost.
async fn send_datagrams(
    socket: Arc<UdpSocket>,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> String {
    let mut unsent = Unsent::default();
    loop {
        for msg in outbox.next_batch().await {
            match datagram::encode(&msg) {
                Ok(bytes) => {
                    if let Err(e) = socket.send(&bytes).await {
                        unsent.add(e.to_string());
                    }
                }
                Err(reason) => unsent.add(reason),
            }
        }
        unsent.report(&*inbox);
    }
}

/// Sends each queued `[address, payload]` as one plain datagram (a DGRAM socket's); one not
/// sent is reported lost.
async fn send_raw(
    socket: Arc<UdpSocket>,
    dest: Option<SocketAddr>,
    outbox: Arc<QueueOutbox>,
    inbox: Arc<dyn Inbox>,
) -> String {
    let mut unsent = Unsent::default();
    loop {
        for msg in outbox.next_batch().await {
            // the socket checked the message when it was sent: this only guards the link
            let (to, payload) = match datagram::raw_parts(&msg) {
                Ok(parts) => parts,
                Err(reason) => {
                    unsent.add(reason);
                    continue;
                }
            };
            let sent = if dest == Some(to) {
                socket.send(&payload).await
            } else {
                socket.send_to(&payload, to).await
            };
            if let Err(e) = sent {
                unsent.add(format!("to {to}: {e}"));
            }
        }
        unsent.report(&*inbox);
    }
}

/// Delivers each datagram that decodes as a message (with `raw`, each datagram as
/// `[sender address, payload]`); one that does not, or one larger than
/// [`datagram::MAX_DATAGRAM`] (which the kernel would hand over truncated; with `raw`,
/// [`datagram::MAX_RAW_PAYLOAD`]), is logged, counted and skipped. A receive error is logged and receiving goes on (an ICMP error reported on the
/// socket, a full kernel buffer, an interrupted call), unless it says the socket itself is
/// unusable ([`receive_error_is_fatal`]): then the link ends with it.
async fn receive_datagrams(socket: Arc<UdpSocket>, inbox: Arc<dyn Inbox>, raw: bool) -> String {
    let limit = if raw {
        datagram::MAX_RAW_PAYLOAD
    } else {
        datagram::MAX_DATAGRAM
    };
    // one byte more than the limit: a datagram that fills it was larger than allowed
    let mut buf = vec![0u8; limit + 1];
    let mut batch = VecDeque::with_capacity(1);
    let (mut oversized, mut malformed, mut errors) = (0u64, 0u64, 0u64);
    let mut consecutive_errors = 0u32;
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(got) => {
                consecutive_errors = 0;
                got
            }
            Err(e) if receive_error_is_fatal(&e) => return format!("receive error: {e}"),
            Err(e) => {
                errors += 1;
                consecutive_errors = consecutive_errors.saturating_add(1);
                tracing::warn!(error = %e, errors, "datagram receive error (receiving goes on)");
                if consecutive_errors > 1 {
                    // an error that repeats at once must not spin the thread
                    let ms = 1u64 << consecutive_errors.min(7);
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                }
                continue;
            }
        };
        if n > limit {
            oversized += 1;
            inbox.discarded(
                1,
                &format!("dropped a datagram from {from} larger than the {limit}-byte limit ({oversized} so far)"),
            );
            continue;
        }
        let decoded = if raw {
            Ok(Multipart::from(vec![
                bytes::Bytes::from(from.to_string()),
                bytes::Bytes::copy_from_slice(&buf[..n]),
            ]))
        } else {
            datagram::decode(&buf[..n])
        };
        match decoded {
            Ok(msg) => {
                batch.push_back(msg);
                inbox.deliver(&mut batch, 1);
                if inbox.len() >= inbox.capacity() {
                    inbox.room().await;
                }
            }
            Err(reason) => {
                malformed += 1;
                inbox.discarded(
                    1,
                    &format!(
                        "dropped a malformed datagram from {from} ({malformed} so far): {reason}"
                    ),
                );
            }
        }
    }
}

/// Whether a receive error means the UDP socket itself is unusable (a bad descriptor, not a
/// socket, an invalid argument or buffer), as opposed to one that concerns one datagram or one
/// moment: an ICMP error queued on the socket (`ECONNREFUSED`, unreachable host or network),
/// a full kernel buffer (`ENOBUFS`, `ENOMEM`), an interrupted or would-block call.
fn receive_error_is_fatal(e: &io::Error) -> bool {
    // Linux, macOS and the BSDs agree on these numbers
    const EBADF: i32 = 9;
    const EFAULT: i32 = 14;
    const EINVAL: i32 = 22;
    #[cfg(target_os = "linux")]
    const ENOTSOCK: i32 = 88;
    #[cfg(not(target_os = "linux"))]
    const ENOTSOCK: i32 = 38;
    match e.raw_os_error() {
        Some(code) => matches!(code, EBADF | EFAULT | EINVAL | ENOTSOCK),
        None => matches!(
            e.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
        ),
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
                        dest: None,
                        raw: false,
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
    socket.set_nonblocking(true)?;
    match addr.ip() {
        IpAddr::V4(group) if group.is_multicast() => {
            // several receivers of one multicast group may share a port, as in libzmq (a
            // unicast port stays one socket's: a second bind fails)
            socket.set_reuse_address(true)?;
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
                    dest: Some(dest),
                    raw: false,
                })),
                dest.to_string(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// An inbox that keeps what it is given.
    #[derive(Default)]
    struct Keep(Mutex<Vec<Multipart>>);

    impl Inbox for Keep {
        fn deliver(&self, batch: &mut VecDeque<Multipart>, n: usize) {
            self.0.lock().unwrap().extend(batch.drain(..n));
        }
        fn len(&self) -> usize {
            0
        }
        fn capacity(&self) -> usize {
            1000
        }
        fn room(&self) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }
        fn want_room(&self, _limit: usize) -> bool {
            true
        }
        fn on_room(&self, _wake: Wake) {}
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn an_oversized_datagram_is_dropped_not_truncated() {
        runtime().block_on(async {
            let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let target = socket.local_addr().unwrap();
            let inbox = Arc::new(Keep::default());
            let driver = tokio::spawn(receive_datagrams(socket, inbox.clone(), false));
            let raw = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            // topic "t", then a 9 998-byte body: 10 000 bytes in all
            let mut big = vec![1u8, b't'];
            big.extend(std::iter::repeat_n(b'x', 9998));
            raw.send_to(&big, target).unwrap();
            // exactly the limit is still fine
            let mut edge = vec![1u8, b'e'];
            edge.extend(std::iter::repeat_n(b'y', datagram::MAX_DATAGRAM - 2));
            raw.send_to(&edge, target).unwrap();
            raw.send_to(b"\x01vvalid", target).unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while inbox.0.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let got = inbox.0.lock().unwrap().clone();
            assert_eq!(
                got.len(),
                2,
                "{:?}",
                got.iter().map(|m| m.byte_len()).collect::<Vec<_>>()
            );
            assert_eq!(got[0].frames()[0], "e");
            assert_eq!(got[0].byte_len(), datagram::MAX_DATAGRAM - 1);
            assert_eq!(got[1], Multipart::from(["v", "valid"]));
            driver.abort();
        });
    }

    #[test]
    fn receiving_goes_on_after_an_icmp_error() {
        runtime().block_on(async {
            // a connected UDP socket gets ECONNREFUSED on its next receive once a datagram
            // it sent met a closed port
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let closed_addr = closed.local_addr().unwrap();
            drop(closed);
            socket.connect(closed_addr).await.unwrap();
            socket.send(b"anyone?").await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let socket = Arc::new(socket);
            let inbox = Arc::new(Keep::default());
            let driver = tokio::spawn(receive_datagrams(socket.clone(), inbox.clone(), false));
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(
                !driver.is_finished(),
                "the receiver stopped after one error"
            );
            driver.abort();
        });
    }

    #[test]
    fn which_receive_errors_are_fatal() {
        for code in [9, 22] {
            assert!(receive_error_is_fatal(&io::Error::from_raw_os_error(code)));
        }
        // ECONNREFUSED, EHOSTUNREACH, ENOBUFS, EINTR on Linux
        #[cfg(target_os = "linux")]
        for code in [111, 113, 105, 4] {
            assert!(!receive_error_is_fatal(&io::Error::from_raw_os_error(code)));
        }
        assert!(!receive_error_is_fatal(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
    }
}
