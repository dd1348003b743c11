//! The formats IPTV operators already publish, read as they are found in
//! the wild: M3U playlists ([`m3u`]) and XMLTV guides ([`xmltv`]). Both
//! parsers stream (a line or an element at a time, never the whole file),
//! tolerate what real files contain, and report what they skipped with its
//! line number instead of failing. Nothing here does I/O beyond reading
//! the `Read` it is given, so the reference provider adapter, the
//! conformance kit and tests share them.

pub mod m3u;
#[doc(hidden)]
pub mod testdata;
pub mod xmltv;
