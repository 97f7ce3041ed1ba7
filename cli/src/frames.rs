//! The line format: one message per line, frames separated by a TAB; each frame JSON text
//! (MessagePack on the wire) or, with `--raw`, plain bytes.

use bytes::Bytes;

use actormq::Multipart;

/// How frames are written on the command line.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// Frames are plain bytes, not JSON ↔ MessagePack.
    pub raw: bool,
}

impl Format {
    /// A line of input as a message: each TAB-separated frame JSON → MessagePack, or raw.
    pub fn parse_line(&self, line: &str) -> Result<Multipart, String> {
        line.split('\t')
            .enumerate()
            .map(|(i, frame)| {
                self.parse_frame(frame)
                    .map_err(|e| format!("frame {}: {e}", i + 1))
            })
            .collect::<Result<Vec<Bytes>, String>>()
            .map(Multipart::from)
    }

    fn parse_frame(&self, text: &str) -> Result<Bytes, String> {
        if self.raw {
            return Ok(Bytes::copy_from_slice(text.as_bytes()));
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &json_to_msgpack(&value)).map_err(|e| e.to_string())?;
        Ok(Bytes::from(out))
    }

    /// A frame as printed: compact JSON of its MessagePack, or raw text.
    pub fn show_frame(&self, frame: &[u8]) -> Result<String, String> {
        if self.raw {
            return Ok(String::from_utf8_lossy(frame).into_owned());
        }
        if frame.first() == Some(&0xc1) {
            // rmpv's reader takes this reserved marker for nil
            return Err("0xc1 is a reserved MessagePack marker".into());
        }
        let mut reader = frame;
        let value = rmpv::decode::read_value(&mut reader).map_err(|e| e.to_string())?;
        if !reader.is_empty() {
            return Err(format!(
                "{} bytes after the MessagePack value",
                reader.len()
            ));
        }
        Ok(msgpack_to_json(&value).to_string())
    }

    /// A message as one line: the first `raw_first` frames raw (a topic), the rest as bodies.
    pub fn show(&self, msg: &Multipart, raw_first: usize) -> Result<String, String> {
        let mut parts = Vec::with_capacity(msg.len());
        for (i, frame) in msg.iter().enumerate() {
            if i < raw_first {
                parts.push(String::from_utf8_lossy(frame).into_owned());
            } else {
                parts.push(
                    self.show_frame(frame)
                        .map_err(|e| format!("frame {} is not valid MessagePack: {e}", i + 1))?,
                );
            }
        }
        Ok(parts.join("\t"))
    }
}

fn json_to_msgpack(v: &serde_json::Value) -> rmpv::Value {
    use serde_json::Value as J;
    match v {
        J::Null => rmpv::Value::Nil,
        J::Bool(b) => rmpv::Value::Boolean(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                rmpv::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                rmpv::Value::from(u)
            } else {
                rmpv::Value::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        J::String(s) => rmpv::Value::from(s.as_str()),
        J::Array(a) => rmpv::Value::Array(a.iter().map(json_to_msgpack).collect()),
        J::Object(o) => rmpv::Value::Map(
            o.iter()
                .map(|(k, v)| (rmpv::Value::from(k.as_str()), json_to_msgpack(v)))
                .collect(),
        ),
    }
}

fn msgpack_to_json(v: &rmpv::Value) -> serde_json::Value {
    use rmpv::Value as M;
    use serde_json::Value as J;
    match v {
        M::Nil => J::Null,
        M::Boolean(b) => J::Bool(*b),
        M::Integer(i) => i
            .as_i64()
            .map(J::from)
            .or_else(|| i.as_u64().map(J::from))
            .unwrap_or(J::Null),
        M::F32(f) => serde_json::Number::from_f64(f64::from(*f)).map_or(J::Null, J::Number),
        M::F64(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        M::String(s) => J::String(s.as_str().map_or_else(
            || String::from_utf8_lossy(s.as_bytes()).into_owned(),
            str::to_string,
        )),
        M::Binary(b) => J::Array(b.iter().map(|x| J::from(*x)).collect()),
        M::Array(a) => J::Array(a.iter().map(msgpack_to_json).collect()),
        M::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        M::String(s) => s.as_str().map(str::to_string).unwrap_or_default(),
                        other => msgpack_to_json(other).to_string(),
                    };
                    (key, msgpack_to_json(v))
                })
                .collect(),
        ),
        M::Ext(kind, data) => serde_json::json!({ "ext": kind, "data": data }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_msgpack_and_tabs_split_frames() {
        let f = Format { raw: false };
        let msg = f
            .parse_line("{\"a\":1,\"b\":[true,null,\"x\"]}\t2.5\t\"s\"")
            .unwrap();
        assert_eq!(msg.len(), 3);
        assert_eq!(&msg.frames()[1][..], &[0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            f.show(&msg, 0).unwrap(),
            "{\"a\":1,\"b\":[true,null,\"x\"]}\t2.5\t\"s\""
        );
        assert!(f
            .parse_line("{\"a\":")
            .unwrap_err()
            .contains("frame 1: invalid JSON"));
        // a reserved marker, an array of 5 holding 1 element, two values in one frame
        for bad in [&b"\xc1"[..], b"\xdc\x00\x05\x01", b"\x01\x02"] {
            let shown = f.show(&Multipart::from(bad.to_vec()), 0);
            assert!(
                shown
                    .as_ref()
                    .is_err_and(|e| e.contains("frame 1 is not valid MessagePack")),
                "{bad:02x?}: {shown:?}"
            );
        }
    }

    #[test]
    fn raw_keeps_empty_frames() {
        let f = Format { raw: true };
        let msg = f.parse_line("a\t\tccc").unwrap();
        assert_eq!(msg, Multipart::from(["a", "", "ccc"]));
        assert_eq!(f.show(&msg, 0).unwrap(), "a\t\tccc");
        // a topic frame is shown raw even without --raw
        let f = Format { raw: false };
        let msg = Multipart::from([
            Bytes::from("news"),
            f.parse_line("1").unwrap().frames()[0].clone(),
        ]);
        assert_eq!(f.show(&msg, 1).unwrap(), "news\t1");
    }
}
