//! XMLTV guides, plain or gzipped, through the entry point the provider
//! uses: `xmltv::from_reader`, iterated to the end. Checks the parser's
//! documented promises: the items of plain XML do not depend on how the
//! input is split across reads, every programme has a title, and every item points at a
//! line of the input (of the decompressed input for gzip).
#![no_main]

use hearth_fuzz::{Trickle, line_count};
use hearth_iptv_formats::xmltv::{self, Item};
use libfuzzer_sys::fuzz_target;

fn parse(reader: impl std::io::Read) -> Vec<Item> {
    xmltv::from_reader(reader).expect("reading a slice cannot fail").collect()
}

fuzz_target!(|data: &[u8]| {
    let gzip = data.starts_with(&[0x1f, 0x8b]);
    let items = parse(data);
    let trickled = parse(Trickle { data, step: 13 });
    // Corrupt gzip yields more or less XML before its error depending on
    // read sizes, so only plain input must give identical items.
    assert!(gzip || items == trickled, "items depend on read boundaries:\n{items:#?}\n---\n{trickled:#?}");
    let lines = line_count(data);
    for item in &items {
        let line = match item {
            Item::Channel(channel) => {
                assert!(!channel.id.is_empty(), "channel without id at line {}", channel.line);
                channel.line
            }
            Item::Programme(programme) => {
                assert!(
                    programme.titles.iter().any(|t| !t.value.is_empty()),
                    "programme without a title at line {}",
                    programme.line
                );
                assert!(!programme.channel.is_empty(), "programme without channel at line {}", programme.line);
                programme.line
            }
            Item::Issue(issue) => issue.line,
        };
        assert!(line >= 1, "line numbers are 1-based: {item:?}");
        assert!(gzip || line <= lines, "line {line} outside 1..={lines}: {item:?}");
    }
});
