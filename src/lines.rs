//! Reading newline-terminated requests with a hard length limit.
//!
//! The limit counts a line's bytes without its terminator (`\n` or `\r\n`) and holds
//! exactly: `limit` bytes are a line, `limit + 1` are [`Line::TooLong`], however the
//! bytes were split across reads. The buffer never grows past the limit plus one read:
//! a client that sends a huge line gets an error instead of making the daemon hold its
//! garbage.

use smol::io::{AsyncRead, AsyncReadExt};

/// What came off the wire.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// One request line, without the newline (a final line without one counts too).
    Text(String),
    /// The line grew past the limit; the connection should be closed after replying.
    TooLong,
    /// Not UTF-8.
    NotUtf8,
    /// The peer closed the connection.
    Eof,
}

/// A line reader over any async byte stream.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    limit: usize,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R, limit: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::new(),
            limit,
            eof: false,
        }
    }

    /// The next line.
    pub async fn next(&mut self) -> std::io::Result<Line> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let rest = self.buf.split_off(pos + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                // Checked here too: the newline may arrive in the same read as the
                // bytes that push the line over the limit.
                if line.len() > self.limit {
                    self.buf = Vec::new();
                    return Ok(Line::TooLong);
                }
                return Ok(to_line(line));
            }
            if self.over_limit() {
                self.buf = Vec::new();
                return Ok(Line::TooLong);
            }
            if self.eof {
                return Ok(if self.buf.is_empty() {
                    Line::Eof
                } else {
                    to_line(std::mem::take(&mut self.buf))
                });
            }
            let mut chunk = [0u8; 4096];
            let n = self.inner.read(&mut chunk).await?;
            if n == 0 {
                self.eof = true;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Whether the unterminated line buffered so far is already too long: more than
    /// `limit` bytes, except that one trailing `\r` may still be half of a `\r\n`.
    fn over_limit(&self) -> bool {
        let content = match self.buf.last() {
            Some(b'\r') if !self.eof => self.buf.len() - 1,
            _ => self.buf.len(),
        };
        content > self.limit
    }
}

fn to_line(bytes: Vec<u8>) -> Line {
    match String::from_utf8(bytes) {
        Ok(s) => Line::Text(s),
        Err(_) => Line::NotUtf8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `input`, read in one go (up to the reader's own chunk size).
    fn lines(input: &[u8], limit: usize) -> Vec<Line> {
        split_lines(input, limit, usize::MAX)
    }

    #[test]
    fn splits_lines_and_keeps_a_final_partial_one() {
        assert_eq!(
            lines(b"a\r\nbc\n\nlast", 100),
            [
                Line::Text("a".into()),
                Line::Text("bc".into()),
                Line::Text("".into()),
                Line::Text("last".into()),
                Line::Eof
            ]
        );
    }

    #[test]
    fn overlong_lines_are_cut_off() {
        let mut input = vec![b'x'; 10_000];
        input.push(b'\n');
        assert_eq!(lines(&input, 4096), [Line::TooLong]);
        // Exactly at the limit is fine.
        let mut ok = vec![b'y'; 16];
        ok.push(b'\n');
        assert_eq!(lines(&ok, 16)[0], Line::Text("y".repeat(16)));
    }

    /// Feeds `input` in reads of `split` bytes: where a read ends must not matter.
    fn split_lines(input: &[u8], limit: usize, split: usize) -> Vec<Line> {
        struct Chunked<'a>(&'a [u8], usize);
        impl AsyncRead for Chunked<'_> {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                std::task::Poll::Ready(Ok(n))
            }
        }
        smol::block_on(async {
            let mut r = LineReader::new(Chunked(input, split), limit);
            let mut out = Vec::new();
            loop {
                let l = r.next().await.unwrap();
                let done = matches!(l, Line::Eof | Line::TooLong);
                out.push(l);
                if done {
                    return out;
                }
            }
        })
    }

    #[test]
    fn the_limit_holds_exactly_whatever_the_reads() {
        const LIMIT: usize = 4096;
        for split in [1, 7, 4095, 4096, 4097, 8192, 100_000] {
            for (len, term) in [(LIMIT, "\n"), (LIMIT, "\r\n"), (LIMIT, "")] {
                let mut input = vec![b'a'; len];
                input.extend_from_slice(term.as_bytes());
                let got = split_lines(&input, LIMIT, split);
                assert_eq!(
                    got[0],
                    Line::Text("a".repeat(len)),
                    "{len}{term:?} split {split}"
                );
            }
            for len in [LIMIT + 1, LIMIT + 2, 6000, 8191, 8192, 8193] {
                for term in ["\n", "\r\n", ""] {
                    let mut input = vec![b'b'; len];
                    input.extend_from_slice(term.as_bytes());
                    assert_eq!(
                        split_lines(&input, LIMIT, split)[0],
                        Line::TooLong,
                        "{len}{term:?} split {split}"
                    );
                }
            }
        }
        // A line after a good one is judged on its own.
        let mut input = b"{}\n".to_vec();
        input.extend(vec![b'c'; LIMIT + 1]);
        input.push(b'\n');
        assert_eq!(
            split_lines(&input, LIMIT, 9000),
            [Line::Text("{}".into()), Line::TooLong]
        );
    }

    #[test]
    fn invalid_utf8_is_reported() {
        assert_eq!(lines(b"\xff\xfe\n", 100)[0], Line::NotUtf8);
    }
}
