//! M3U playlists through the entry points the provider uses: `m3u::read`
//! (the line-up) and `Parser::new(..).header()` (guide URLs). Checks the
//! parser's documented promises: the result does not depend on how the
//! input is split across reads, every entry has a name, and every issue and
//! entry points at a line of the input.
#![no_main]

use std::io::BufReader;

use hearth_fuzz::{Trickle, line_count};
use hearth_iptv_formats::m3u;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let playlist = m3u::read(data);
    assert!(playlist.read_error.is_none(), "a slice cannot fail to read");

    // Streaming: tiny reads (7-byte buffer, 3 bytes per read) see every
    // boundary a network body can have, and must give the same playlist.
    let trickled = m3u::read(BufReader::with_capacity(7, Trickle { data, step: 3 }));
    assert_eq!(format!("{playlist:?}"), format!("{trickled:?}"), "result depends on read boundaries");

    let header = m3u::Parser::new(data).header().cloned();
    assert_eq!(format!("{header:?}"), format!("{:?}", playlist.header), "header differs from the whole read");

    let lines = line_count(data);
    for entry in &playlist.entries {
        assert!(!entry.name.is_empty(), "entry without a name at line {}", entry.line);
        assert!((1..=lines).contains(&entry.line), "entry line {} outside 1..={lines}", entry.line);
    }
    for issue in &playlist.issues {
        assert!((1..=lines).contains(&issue.line), "issue line {} outside 1..={lines}: {issue}", issue.line);
    }
});
