//! Text files in the encodings agencies' tools save them in, and the
//! delimiter of their CSV.
//!
//! **Encoding**, when `--encoding` does not name one:
//! 1. a byte order mark says it (UTF-8, UTF-16LE, UTF-16BE), and is dropped;
//!    a BOM wins over `--encoding`, as in every browser;
//! 2. else the first 64 KiB are looked at: if more than half their byte
//!    pairs have a 0x00 or 0x04 byte in the same place (the high byte of
//!    Latin and of Cyrillic characters in UTF-16) and under a tenth in the
//!    other, it is UTF-16 without a BOM (little- or big-endian by where);
//! 3. else if they are valid UTF-8 (an all-ASCII head included, and a
//!    character cut at the end allowed), the file is read as UTF-8;
//! 4. else it is Windows-1251: what Excel and LibreOffice set to a Russian
//!    (or Kyrgyz, Kazakh, Tajik, Uzbek Cyrillic) locale save as "CSV".
//!    Every byte decodes in Windows-1251, so a KOI8-R or CP866 file read
//!    this way gives wrong letters, not errors: name those with
//!    `--encoding koi8-r` / `ibm866`.
//!
//! UTF-8 is not transcoded: the CSV reader checks each row, and a row with
//! bytes that are not UTF-8 is refused naming their byte offset and
//! `--encoding` (a file that is UTF-8 in its first 64 KiB but not after
//! is most likely in another encoding). Any other encoding is decoded to
//! UTF-8 as the file streams; a byte it cannot decode stops the file,
//! naming the byte's offset and `--encoding`.
//!
//! **Delimiter**, when `--delimiter` does not name one: of `,`, `;` and
//! tab, the one the header line holds most often outside double quotes
//! (ties go to `,`, then `;`): a Russian-locale "CSV" is `;`-separated,
//! Excel's "Unicode text" tab-separated.

use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1251};

/// How much of the file's head is looked at.
pub(super) const SNIFF: usize = 64 * 1024;

/// The encoding a file is read in, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Chosen {
    pub(super) encoding: &'static Encoding,
    /// Bytes of byte order mark at the start of the file.
    pub(super) bom: usize,
    /// Why this encoding: `given`, `BOM`, `detected`.
    pub(super) why: &'static str,
}

/// An encoding by any label the WHATWG Encoding Standard knows
/// (`utf-8`, `windows-1251`, `cp1251`, `koi8-r`, `ibm866`, `utf-16le`...).
pub fn encoding_for_label(label: &str) -> Result<&'static Encoding, String> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        format!(
            "{label:?} is not an encoding: name one as the WHATWG Encoding Standard does, e.g. utf-8, windows-1251 (cp1251), koi8-r, ibm866 (cp866), utf-16le"
        )
    })
}

/// Picks the encoding of a file whose first bytes are `head` (all of the
/// file when it is shorter than [`SNIFF`]).
pub(super) fn choose(head: &[u8], given: Option<&'static Encoding>) -> Chosen {
    if let Some((encoding, bom)) = Encoding::for_bom(head) {
        return Chosen {
            encoding,
            bom,
            why: "its byte order mark",
        };
    }
    if let Some(encoding) = given {
        return Chosen {
            encoding,
            bom: 0,
            why: "--encoding",
        };
    }
    let utf8 = || match std::str::from_utf8(head) {
        Ok(_) => true,
        // A character cut by the end of the sniffed head.
        Err(e) => e.error_len().is_none() && head.len() >= SNIFF,
    };
    // UTF-16 first: Cyrillic in UTF-16 is bytes 0x04 and 0x10-0x4f, which
    // are valid (if absurd) UTF-8.
    let encoding = if let Some(utf16) = utf16_without_bom(head) {
        utf16
    } else if utf8() {
        UTF_8
    } else {
        WINDOWS_1251
    };
    Chosen {
        encoding,
        bom: 0,
        why: "detection",
    }
}

/// UTF-16 by its high bytes: Latin, digits, a CSV's delimiters, quotes
/// and newlines have a high byte of 0x00, Cyrillic of 0x04. When more
/// than half the byte pairs have one in the same place (and under a tenth
/// in the other), the file is UTF-16 without a byte order mark.
fn utf16_without_bom(head: &[u8]) -> Option<&'static Encoding> {
    let pairs = head.len().min(4096) / 2;
    if pairs < 2 {
        return None;
    }
    let high_at = |i: usize| {
        (0..pairs)
            .filter(|p| matches!(head[2 * p + i], 0x00 | 0x04))
            .count()
    };
    let (odd, even) = (high_at(1), high_at(0));
    if odd * 2 > pairs && even * 10 < pairs {
        Some(UTF_16LE)
    } else if even * 2 > pairs && odd * 10 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// The delimiter the header line (the start of `text`, up to its first
/// newline) uses.
pub(super) fn delimiter(text: &[u8]) -> u8 {
    let (mut quoted, mut counts) = (false, [0usize; 3]);
    for &b in text {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = counts.iter().copied().max().unwrap_or(0);
    if best == 0 || counts[0] == best {
        b','
    } else if counts[1] == best {
        b';'
    } else {
        b'\t'
    }
}

/// What a bad byte gets: where it is and how to say the right encoding.
pub(super) fn undecodable(offset: u64, bytes: &[u8], chosen: &Chosen) -> String {
    let hex: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:#04x}")).collect();
    let other = if chosen.encoding == UTF_8 {
        "windows-1251"
    } else {
        "utf-8"
    };
    format!(
        "byte {offset} ({}) is not {} (chosen by {}): the file is in another encoding; name it with --encoding (e.g. --encoding {other}, koi8-r, ibm866)",
        hex.join(" "),
        chosen.encoding.name(),
        chosen.why
    )
}

/// Decodes `inner` (positioned after any BOM) from a non-UTF-8 encoding
/// into UTF-8 as it is read. A malformed byte is an `InvalidData` error
/// naming its offset in the file.
pub(super) struct Decoding<R> {
    inner: R,
    decoder: Decoder,
    chosen: Chosen,
    input: Box<[u8]>,
    /// Undecoded input: `input[start..end]`.
    start: usize,
    end: usize,
    /// The file offset of `input[start]`.
    offset: u64,
    output: Box<[u8]>,
    /// Decoded, not yet returned: `output[out_start..out_end]`.
    out_start: usize,
    out_end: usize,
    eof: bool,
    finished: bool,
}

impl<R: Read> Decoding<R> {
    pub(super) fn new(inner: R, chosen: Chosen) -> Decoding<R> {
        Decoding {
            inner,
            decoder: chosen.encoding.new_decoder_without_bom_handling(),
            chosen,
            input: vec![0; 32 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            offset: chosen.bom as u64,
            // Any encoding's worst case for the input buffer: 3 UTF-8
            // bytes per input byte, plus a pending character.
            output: vec![0; 3 * 32 * 1024 + 16].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            eof: false,
            finished: false,
        }
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            if self.start == self.end && !self.eof {
                self.start = 0;
                self.end = match self.inner.read(&mut self.input) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                self.eof = self.end == 0;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.start..self.end],
                &mut self.output,
                self.eof,
            );
            let at = self.offset;
            self.start += read;
            self.offset += read as u64;
            self.out_start = 0;
            self.out_end = written;
            match result {
                DecoderResult::InputEmpty => self.finished = self.eof,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(bad, extra) => {
                    let bad_end = read - usize::from(extra);
                    let bad_start = bad_end - usize::from(bad);
                    let from = self.start - read;
                    let bytes = &self.input[from + bad_start..from + bad_end];
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        undecodable(at + bad_start as u64, bytes, &self.chosen),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(bytes: &[u8], given: Option<&'static Encoding>) -> io::Result<String> {
        let chosen = choose(&bytes[..bytes.len().min(SNIFF)], given);
        let mut out = String::new();
        Decoding::new(&bytes[chosen.bom..], chosen).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn detection() {
        let text = "Фамилия;Имя\nКурбанов;Юсуф\n";
        let (cp1251, _, _) = WINDOWS_1251.encode(text);
        assert_eq!(choose(&cp1251, None).encoding, WINDOWS_1251);
        assert_eq!(choose(text.as_bytes(), None).encoding, UTF_8);
        assert_eq!(choose(b"id,phone\n", None).encoding, UTF_8);
        let bom = [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat();
        assert_eq!(
            choose(&bom, Some(WINDOWS_1251)),
            Chosen {
                encoding: UTF_8,
                bom: 3,
                why: "its byte order mark"
            }
        );
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(choose(&utf16, None).encoding, UTF_16LE);
        let with_bom = [b"\xff\xfe".as_slice(), &utf16].concat();
        assert_eq!(decode_all(&with_bom, None).unwrap(), text);
        assert_eq!(decode_all(&cp1251, None).unwrap(), text);
        let koi8 = encoding_rs::KOI8_R.encode(text).0;
        assert_eq!(
            decode_all(&koi8, Some(encoding_for_label("koi8-r").unwrap())).unwrap(),
            text
        );
        assert!(encoding_for_label("cp1251").is_ok());
        assert!(encoding_for_label("klingon")
            .unwrap_err()
            .contains("windows-1251"));
    }

    #[test]
    fn a_byte_that_does_not_decode_is_named_by_offset() {
        // Shift_JIS: 0x81 0x20 is no character.
        let bytes = b"id,name\nA,\x81\x20\n";
        let e = decode_all(bytes, Some(encoding_rs::SHIFT_JIS)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            e.to_string().starts_with("byte 10 (0x81) is not Shift_JIS"),
            "{e}"
        );
        assert!(e.to_string().contains("--encoding"), "{e}");
    }

    #[test]
    fn delimiters() {
        assert_eq!(delimiter(b"record_id,surname,given\n1;2;3;4;5"), b',');
        assert_eq!(
            delimiter("Фамилия;Имя;\"Дата, рождения\"\n".as_bytes()),
            b';'
        );
        assert_eq!(delimiter(b"caller\tcallee\tstart\r\n"), b'\t');
        assert_eq!(delimiter(b"id"), b',');
        assert_eq!(delimiter(b"a;b,c"), b',');
    }

    proptest! {
        /// Any table of Cyrillic and Latin cells, written with any of the
        /// three delimiters in Windows-1251 or UTF-8 (with or without a
        /// BOM), reads back as written.
        #[test]
        fn detection_reads_back_what_was_written(
            rows in prop::collection::vec(
                prop::collection::vec("[a-zA-Zа-яА-ЯёЁ0-9 .+№/-]{1,12}", 3),
                1..40,
            ),
            delim in prop::sample::select(vec![',', ';', '\t']),
            how in 0..3u8,
        ) {
            let text: String = rows
                .iter()
                .map(|r| r.join(&delim.to_string()) + "\n")
                .collect();
            let bytes = match how {
                0 => WINDOWS_1251.encode(&text).0.into_owned(),
                1 => text.clone().into_bytes(),
                _ => [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat(),
            };
            // Windows-1251 bytes that happen to be valid UTF-8 (`В№` is
            // C2 B9, UTF-8's `¹`) cannot be told apart by any detector; a
            // real file holds enough Cyrillic that this never happens.
            prop_assume!(how != 0 || std::str::from_utf8(&bytes).is_err() || text.is_ascii());
            let chosen = choose(&bytes, None);
            let cyrillic = !text.is_ascii();
            let expect = if how == 0 && cyrillic { WINDOWS_1251 } else { UTF_8 };
            prop_assert_eq!(chosen.encoding, expect);
            let decoded = if chosen.encoding == UTF_8 {
                String::from_utf8(bytes[chosen.bom..].to_vec()).unwrap()
            } else {
                decode_all(&bytes, None).unwrap()
            };
            prop_assert_eq!(&decoded, &text);
            prop_assert_eq!(delimiter(decoded.as_bytes()), delim as u8);
        }
    }
}
