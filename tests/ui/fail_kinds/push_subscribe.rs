// A PUSH handle has no subscribe, a PULL handle no send.
use actormq::{PullSocket, PushSocket};

async fn misuse(push: PushSocket, pull: PullSocket) {
    push.subscribe("topic").await.unwrap();
    pull.send("task").await.unwrap();
}

fn main() {
    let _ = misuse;
}
