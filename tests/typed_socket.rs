//! Socket handles typed by kind: what a kind cannot do does not compile (`tests/ui/fail_kinds/`),
//! and a typed handle is the same socket as its untyped one.

mod common;

use actormq::{
    Multipart, PubSocket, PullSocket, PushSocket, Socket, SocketType, SubSocket, TypedSocket,
};
use common::{run, sync_subscription};

#[test]
fn a_kind_without_the_method_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail_kinds/*.rs");
}

#[test]
fn typed_handles_send_receive_and_subscribe() {
    run(10, async {
        let pull = PullSocket::new().unwrap();
        let ep = pull.bind("inproc://typed-push-pull").await.unwrap();
        let push = PushSocket::new().unwrap();
        push.connect(&ep).await.unwrap();
        push.send("task").await.unwrap();
        assert_eq!(pull.recv().await.unwrap(), Multipart::from("task"));
        assert_eq!(push.socket_type(), SocketType::Push);

        let publisher = PubSocket::new().unwrap();
        let ep = publisher.bind("tcp://127.0.0.1:0").await.unwrap();
        let sub = SubSocket::new().unwrap();
        sub.connect(&ep).await.unwrap();
        sub.subscribe("weather").await.unwrap();
        sync_subscription(publisher.socket(), sub.socket(), "weather").await;
        publisher.send(["weather", "sunny"]).await.unwrap();
        let received = loop {
            let m = sub.recv().await.unwrap();
            if m.frames()[1] != "probe" {
                break m;
            }
        };
        assert_eq!(received, Multipart::from(["weather", "sunny"]));

        // back and forth between typed and untyped handles
        let untyped: Socket = push.into();
        assert!(TypedSocket::<actormq::kind::Pull>::try_from(untyped.clone()).is_err());
        assert!(PushSocket::try_from(untyped).is_ok());
    });
}
