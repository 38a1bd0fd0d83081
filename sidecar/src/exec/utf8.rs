//! Lossy UTF-8 decoding of a byte stream that never splits a multi-byte character across
//! chunks (an incomplete sequence at the end of a chunk waits for the next one).

#[derive(Default)]
pub struct Utf8Chunker {
    pending: Vec<u8>,
}

impl Utf8Chunker {
    /// Decodes `bytes` (after any bytes held back from the previous call).
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let keep = match std::str::from_utf8(&self.pending) {
            Ok(_) => 0,
            Err(e) if e.error_len().is_none() => self.pending.len() - e.valid_up_to(),
            Err(_) => incomplete_tail(&self.pending),
        };
        let tail = self.pending.split_off(self.pending.len() - keep);
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = tail;
        out
    }

    /// Decodes whatever is still held back (at end of stream).
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

/// Length of an incomplete (but so far valid) UTF-8 sequence at the end of `b`, if any.
fn incomplete_tail(b: &[u8]) -> usize {
    for back in 1..=3.min(b.len()) {
        let start = b.len() - back;
        if std::str::from_utf8(&b[start..]).is_err_and(|e| e.error_len().is_none()) {
            return back;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_split_characters_whole() {
        let s = "héllo €".as_bytes();
        let mut c = Utf8Chunker::default();
        let mut out = String::new();
        for b in s {
            out.push_str(&c.push(std::slice::from_ref(b)));
        }
        out.push_str(&c.finish());
        assert_eq!(out, "héllo €");
        let mut c = Utf8Chunker::default();
        assert_eq!(c.push(&[0xff, b'a', 0xe2, 0x82]), "\u{fffd}a");
        assert_eq!(c.push(&[0xac]), "€");
    }
}
