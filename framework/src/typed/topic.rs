//! Topics of typed messages.

/// A message type's topic. Publishers send each message under [`Topic::topic`]; subscribers to
/// every message of the type subscribe to [`Topic::PREFIX`]. A topic built from fields
/// (`weather.{zipcode}`) makes hierarchical prefix filtering work: subscribing to
/// `weather.100` gets zipcodes 10000 to 10099.
///
/// `#[derive(Topic)]` with `#[topic = "weather.{zipcode}"]` writes this for you.
pub trait Topic {
    /// The fixed start of every topic of this type.
    const PREFIX: &'static str;

    /// This message's topic. Default: the prefix.
    fn topic(&self) -> String {
        Self::PREFIX.to_string()
    }
}
