//! The CLI's line format: an arbitrary line parsed as input (JSON and raw), and arbitrary
//! frames printed (MessagePack as JSON, bounded; text escaped) and read back.

use actormq::Multipart;
use actormq_cli::frames::{escape_text, unescape_text, Format};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let line = String::from_utf8_lossy(data);
        for raw in [false, true] {
            let format = Format { raw };
            if let Ok(msg) = format.parse_line(&line) {
                let _ = format.show(&msg, 0);
            }
        }
        // what is printed as text reads back as the same bytes
        assert_eq!(unescape_text(&escape_text(data)), data);
        let msg = Multipart::from(data.to_vec());
        let shown = Format { raw: false }.show(&msg, 0);
        if let Ok(text) = shown {
            assert!(text.len() <= actormq_cli::frames::MAX_SHOWN_FRAME + 64, "unbounded output");
            assert!(!text.contains('\n'), "a frame printed a newline");
        }
    });
}
