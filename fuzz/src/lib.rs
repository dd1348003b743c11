//! Shared pieces of the fuzz targets: the gateway's inbound-frame path, the
//! fixed token keys, and the checks every target applies to what it gets
//! back. The targets themselves are in `fuzz_targets/`.

pub mod jwt;
pub mod ws;

/// Number of lines in `data` as the parsers count them (LF ends a line), so
/// an issue's 1-based line can be checked against it.
pub fn line_count(data: &[u8]) -> usize {
    data.iter().filter(|&&b| b == b'\n').count() + 1
}

/// A reader that hands out at most `step` bytes per `read`, so a streaming
/// parser meets every possible buffer boundary.
pub struct Trickle<'a> {
    pub data: &'a [u8],
    pub step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
