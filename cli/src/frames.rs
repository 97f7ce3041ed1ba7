//! The line format: one message per line, frames separated by a TAB; each frame JSON text
//! (MessagePack on the wire) or, with `--raw`, plain bytes.

use bytes::Bytes;

use actormq::Multipart;

/// Most JSON text a frame is printed as; the rest is cut, with a marker saying how much
/// (MessagePack is dense: a frame of nils is printed ~5 times larger, `null,` per byte).
pub const MAX_SHOWN_FRAME: usize = 1 << 20;

/// Deepest nesting of arrays and maps shown (serde_json reads no deeper either).
const MAX_DEPTH: usize = 128;

/// Most text a map key that is not a string is shown as (its JSON text, in a string). Keys
/// nest: each level escapes the one inside it again, so without this bound a frame of nested
/// map keys costs its depth times the whole output limit to render (found by fuzzing).
const MAX_KEY: usize = 4096;

/// How frames are written on the command line.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// Frames are plain bytes, not JSON ↔ MessagePack.
    pub raw: bool,
}

impl Format {
    /// A line of input as a message: each TAB-separated frame JSON → MessagePack, or raw (with
    /// the escapes that [`escape_text`] prints read back).
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
            return Ok(Bytes::from(unescape_text(text)));
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &json_to_msgpack(&value)).map_err(|e| e.to_string())?;
        Ok(Bytes::from(out))
    }

    /// A frame as printed: compact JSON of its MessagePack (at most [`MAX_SHOWN_FRAME`]
    /// bytes of it), or escaped text ([`escape_text`]).
    pub fn show_frame(&self, frame: &[u8]) -> Result<String, String> {
        if self.raw {
            return Ok(escape_text(frame));
        }
        msgpack_as_json(frame, MAX_SHOWN_FRAME)
    }

    /// A message as one line: the first `raw_first` frames as escaped text (a topic), the rest
    /// as bodies.
    pub fn show(&self, msg: &Multipart, raw_first: usize) -> Result<String, String> {
        let mut parts = Vec::with_capacity(msg.len());
        for (i, frame) in msg.iter().enumerate() {
            if i < raw_first {
                parts.push(escape_text(frame));
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

/// A frame printed as text, so that a peer can neither forge lines or frames nor reach the
/// terminal: TAB, newline and carriage return as `\t`, `\n`, `\r`; a backslash as `\\`;
/// other control characters (C0, DEL, C1, so ESC too) and bytes that are not UTF-8 as
/// `\xNN` (one per byte of their encoding). Everything else is printed as it is.
pub fn escape_text(frame: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(frame.len());
    let hex = |out: &mut String, bytes: &[u8]| {
        for b in bytes {
            let _ = write!(out, "\\x{b:02x}");
        }
    };
    for chunk in frame.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => hex(&mut out, c.encode_utf8(&mut [0; 4]).as_bytes()),
                c => out.push(c),
            }
        }
        hex(&mut out, chunk.invalid());
    }
    out
}

/// The escapes of [`escape_text`] read back (`--raw` input): `\t`, `\n`, `\r`, `\\`, `\xNN`;
/// a backslash followed by anything else stays as it is.
pub fn unescape_text(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' || i + 1 == bytes.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let (decoded, used) = match bytes[i + 1] {
            b't' => (Some(b'\t'), 2),
            b'n' => (Some(b'\n'), 2),
            b'r' => (Some(b'\r'), 2),
            b'\\' => (Some(b'\\'), 2),
            b'x' => match text.get(i + 2..i + 4).map(|h| u8::from_str_radix(h, 16)) {
                Some(Ok(v)) => (Some(v), 4),
                _ => (None, 1),
            },
            _ => (None, 1),
        };
        match decoded {
            Some(v) => out.push(v),
            None => out.push(b'\\'),
        }
        i += used;
    }
    out
}

/// A MessagePack frame as compact JSON text, written as it is read (no tree of values in
/// memory), cut after `limit` bytes with a marker: `...[truncated: N more bytes]`. The whole
/// frame is still checked: one value, nothing after it, nesting at most [`MAX_DEPTH`].
///
/// Bytes become an array of numbers, an extension `{"data":[...],"ext":TYPE}`, a map key that
/// is not a string its JSON text as a string; NaN and infinities `null`; keys keep their order
/// on the wire. In strings, besides what JSON escapes, DEL and C1 controls are `\u` escapes too,
/// so that nothing reaches a terminal as a control sequence.
pub fn msgpack_as_json(frame: &[u8], limit: usize) -> Result<String, String> {
    let mut r = Renderer {
        input: frame,
        pos: 0,
        out: Text::new(limit),
    };
    r.value(0)?;
    if r.pos < frame.len() {
        return Err(format!(
            "{} bytes after the MessagePack value",
            frame.len() - r.pos
        ));
    }
    Ok(r.out.finish())
}

/// Output text bounded by a limit; counts what it leaves out.
struct Text {
    out: String,
    limit: usize,
    left_out: usize,
}

impl Text {
    fn new(limit: usize) -> Self {
        Text {
            out: String::new(),
            limit,
            left_out: 0,
        }
    }

    fn push(&mut self, s: &str) {
        if self.left_out > 0 {
            self.left_out += s.len();
            return;
        }
        let room = self.limit - self.out.len();
        if s.len() <= room {
            self.out.push_str(s);
            return;
        }
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.out.push_str(&s[..cut]);
        self.left_out = s.len() - cut;
    }

    fn finish(mut self) -> String {
        if self.left_out > 0 {
            self.out
                .push_str(&format!("...[truncated: {} more bytes]", self.left_out));
        }
        self.out
    }
}

struct Renderer<'a> {
    input: &'a [u8],
    pos: usize,
    out: Text,
}

impl<'a> Renderer<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.input.len())
            .ok_or_else(|| "the frame ends inside a value".to_string())?;
        let got = &self.input[self.pos..end];
        self.pos = end;
        Ok(got)
    }

    fn be(&mut self, n: usize) -> Result<u64, String> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn len(&mut self, n: usize) -> Result<usize, String> {
        usize::try_from(self.be(n)?).map_err(|_| "a length too large".to_string())
    }

    fn value(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("values nested deeper than {MAX_DEPTH}"));
        }
        let marker = self.take(1)?[0];
        match marker {
            0x00..=0x7f => self.out.push(&marker.to_string()),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), depth)?,
            0xa0..=0xbf => self.string(usize::from(marker & 0x1f))?,
            0xc0 => self.out.push("null"),
            0xc1 => return Err("0xc1 is a reserved MessagePack marker".into()),
            0xc2 => self.out.push("false"),
            0xc3 => self.out.push("true"),
            0xc4..=0xc6 => {
                let n = self.len(1 << (marker - 0xc4))?;
                let data = self.take(n)?;
                self.bytes(data);
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (marker - 0xc7))?;
                self.ext(n)?;
            }
            0xca => {
                let bits = self.be(4)? as u32;
                self.float(f64::from(f32::from_bits(bits)));
            }
            0xcb => {
                let bits = self.be(8)?;
                self.float(f64::from_bits(bits));
            }
            0xcc..=0xcf => {
                let v = self.be(1 << (marker - 0xcc))?;
                self.out.push(&v.to_string());
            }
            0xd0..=0xd3 => {
                let n = 1 << (marker - 0xd0);
                let v = self.be(n)?;
                // sign-extend from n bytes
                let shift = 64 - 8 * n as u32;
                let v = ((v << shift) as i64) >> shift;
                self.out.push(&v.to_string());
            }
            0xd4..=0xd8 => self.ext(1 << (marker - 0xd4))?,
            0xd9..=0xdb => {
                let n = self.len(1 << (marker - 0xd9))?;
                self.string(n)?;
            }
            0xdc | 0xdd => {
                let n = self.len(2 << (marker - 0xdc))?;
                self.array(n, depth)?;
            }
            0xde | 0xdf => {
                let n = self.len(2 << (marker - 0xde))?;
                self.map(n, depth)?;
            }
            0xe0..=0xff => self.out.push(&(marker as i8).to_string()),
        }
        Ok(())
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<(), String> {
        self.out.push("[");
        for i in 0..n {
            if i > 0 {
                self.out.push(",");
            }
            self.value(depth + 1)?;
        }
        self.out.push("]");
        Ok(())
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<(), String> {
        self.out.push("{");
        for i in 0..n {
            if i > 0 {
                self.out.push(",");
            }
            self.key(depth)?;
            self.out.push(":");
            self.value(depth + 1)?;
        }
        self.out.push("}");
        Ok(())
    }

    /// A map key: a string as it is, anything else as its JSON text in a string.
    fn key(&mut self, depth: usize) -> Result<(), String> {
        let marker = *self
            .input
            .get(self.pos)
            .ok_or_else(|| "the frame ends inside a value".to_string())?;
        if matches!(marker, 0xa0..=0xbf | 0xd9..=0xdb) {
            return self.value(depth + 1);
        }
        let limit = MAX_KEY.min(self.out.limit.saturating_sub(self.out.out.len()));
        let outer = std::mem::replace(&mut self.out, Text::new(limit));
        let result = self.value(depth + 1);
        let key = std::mem::replace(&mut self.out, outer);
        result?;
        let key = key.finish();
        self.json_string(&key);
        Ok(())
    }

    fn string(&mut self, n: usize) -> Result<(), String> {
        let data = self.take(n)?;
        let text = String::from_utf8_lossy(data);
        self.json_string(&text);
        Ok(())
    }

    fn json_string(&mut self, s: &str) {
        use std::fmt::Write;
        self.out.push("\"");
        let mut plain = 0;
        let mut escaped = String::new();
        for (i, c) in s.char_indices() {
            let esc = match c {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\u{8}' => "\\b",
                '\u{c}' => "\\f",
                c if c.is_control() => {
                    escaped.clear();
                    let _ = write!(escaped, "\\u{:04x}", u32::from(c));
                    escaped.as_str()
                }
                _ => continue,
            };
            self.out.push(&s[plain..i]);
            self.out.push(esc);
            plain = i + c.len_utf8();
        }
        self.out.push(&s[plain..]);
        self.out.push("\"");
    }

    fn bytes(&mut self, data: &[u8]) {
        self.out.push("[");
        for (i, b) in data.iter().enumerate() {
            if i > 0 {
                self.out.push(",");
            }
            self.out.push(&b.to_string());
        }
        self.out.push("]");
    }

    fn ext(&mut self, n: usize) -> Result<(), String> {
        let kind = self.take(1)?[0] as i8;
        let data = self.take(n)?;
        self.out.push("{\"data\":");
        self.bytes(data);
        self.out.push(",\"ext\":");
        self.out.push(&kind.to_string());
        self.out.push("}");
        Ok(())
    }

    fn float(&mut self, f: f64) {
        match serde_json::Number::from_f64(f) {
            Some(n) => self.out.push(&n.to_string()),
            None => self.out.push("null"),
        }
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

#[cfg(test)]
mod tests {
    #[test]
    fn nested_map_keys_render_in_bounded_text() {
        // {{{..{"\"": nil}..: nil}: nil}: nil}: every level escapes the key inside it again,
        // doubling its backslashes (a frame like this, found by fuzzing, took 1.3 s to print)
        let depth = 60;
        let mut frame = vec![0x81u8; depth];
        frame.extend_from_slice(&[0xa1, b'"']);
        frame.extend(std::iter::repeat_n(0xc0u8, depth));
        let shown = msgpack_as_json(&frame, MAX_SHOWN_FRAME).unwrap();
        assert!(shown.starts_with("{\"{"), "{}", &shown[..40]);
        assert!(shown.len() < 4 * MAX_KEY, "{} bytes shown", shown.len());
    }

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

    #[test]
    fn text_frames_are_escaped_so_a_peer_cannot_forge_lines_or_reach_the_terminal() {
        let evil = b"a\tb\nforged line\r\x1b[2J\x07\\x\x7f\xc2\x9b\xff end";
        let shown = escape_text(evil);
        assert_eq!(
            shown,
            "a\\tb\\nforged line\\r\\x1b[2J\\x07\\\\x\\x7f\\xc2\\x9b\\xff end"
        );
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        // --raw reads its own escapes back
        assert_eq!(unescape_text(&shown), evil);
        assert_eq!(unescape_text("C:\\dir \\q \\x4"), b"C:\\dir \\q \\x4");
        // a topic frame (shown raw even without --raw) and --raw frames
        let msg = Multipart::from([&b"news\n\x1b]0;pwned\x07"[..], b"\x01"]);
        let f = Format { raw: false };
        assert_eq!(f.show(&msg, 1).unwrap(), "news\\n\\x1b]0;pwned\\x07\t1");
        let f = Format { raw: true };
        assert_eq!(f.show(&msg, 0).unwrap(), "news\\n\\x1b]0;pwned\\x07\t\\x01");
        assert_eq!(
            f.parse_line("news\\n\\x1b\t\\x01").unwrap(),
            Multipart::from([&b"news\n\x1b"[..], b"\x01"])
        );
        // in JSON strings, ESC, DEL and C1 controls are \u escapes
        let mut frame = Vec::new();
        rmpv::encode::write_value(
            &mut frame,
            &rmpv::Value::from("\u{1b}[31mred\t\u{7f}\u{9b}2J é"),
        )
        .unwrap();
        assert_eq!(
            Format { raw: false }.show_frame(&frame).unwrap(),
            "\"\\u001b[31mred\\t\\u007f\\u009b2J é\""
        );
    }

    #[test]
    fn json_rendering_matches_values_of_every_kind() {
        use rmpv::Value as M;
        let value = M::Map(vec![
            (M::from("i"), M::from(-3)),
            (M::from("u"), M::from(u64::MAX)),
            (M::from("n"), M::from(-100_000_i64)),
            (M::from("f"), M::F32(1.5)),
            (M::from("d"), M::F64(f64::NAN)),
            (M::from(7), M::Binary(vec![1, 2])),
            (M::from("e"), M::Ext(-1, vec![9])),
            (M::from("s"), M::from("q\"\\")),
            (
                M::from("a"),
                M::Array(vec![M::Nil, M::from(true), M::from(false)]),
            ),
        ]);
        let mut frame = Vec::new();
        rmpv::encode::write_value(&mut frame, &value).unwrap();
        assert_eq!(
            msgpack_as_json(&frame, MAX_SHOWN_FRAME).unwrap(),
            "{\"i\":-3,\"u\":18446744073709551615,\"n\":-100000,\"f\":1.5,\"d\":null,\
             \"7\":[1,2],\"e\":{\"data\":[9],\"ext\":-1},\"s\":\"q\\\"\\\\\",\
             \"a\":[null,true,false]}"
        );
        // too deep
        let deep = vec![0x91; 5000];
        assert!(msgpack_as_json(&deep, MAX_SHOWN_FRAME)
            .unwrap_err()
            .contains("nested deeper"));
    }

    /// The process's peak resident memory (VmHWM), in bytes, after resetting it to the
    /// current size where the kernel allows (`/proc/self/clear_refs`).
    #[cfg(target_os = "linux")]
    fn peak_rss(reset: bool) -> usize {
        if reset {
            let _ = std::fs::write("/proc/self/clear_refs", "5");
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kb: usize = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap();
        kb * 1024
    }

    #[test]
    fn a_big_frame_is_printed_in_bounded_memory_and_cut_with_a_marker() {
        // 4 MiB of nils: an array32 of 4 Mi elements
        let n = 4 << 20;
        let mut frame = vec![0xdd];
        frame.extend_from_slice(&(n as u32).to_be_bytes());
        frame.resize(5 + n, 0xc0);
        #[cfg(target_os = "linux")]
        let before = peak_rss(true);
        let shown = Format { raw: false }.show_frame(&frame).unwrap();
        #[cfg(target_os = "linux")]
        {
            // (a tree of values, then of JSON values, took ~300 MB here)
            let grew = peak_rss(false).saturating_sub(before);
            assert!(
                grew < 32 << 20,
                "rendering a 4 MiB frame took {grew} more bytes at the peak"
            );
        }
        let (head, marker) = shown.split_at(MAX_SHOWN_FRAME);
        assert!(head.starts_with("[null,null,"), "{}", &head[..20]);
        // "[" + 4 Mi "null" + (4 Mi - 1) "," + "]" in all
        let total = 1 + 4 * n + (n - 1) + 1;
        assert_eq!(
            marker,
            format!("...[truncated: {} more bytes]", total - MAX_SHOWN_FRAME)
        );
        // under the limit, nothing is cut
        assert_eq!(
            msgpack_as_json(b"\x92\xc0\xc0", 100).unwrap(),
            "[null,null]"
        );
        assert_eq!(
            msgpack_as_json(b"\xa3abc", 3).unwrap(),
            "\"ab...[truncated: 2 more bytes]"
        );
    }
}
