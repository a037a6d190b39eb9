//! [`Digest`]: a validated `sha256:<hex>` content address, plus [`HashingWriter`] and
//! [`HashingReader`], the adapters that compute one while bytes stream past.
//!
//! Every blob the `oci` module writes (layers, config, manifest) is named by its digest; layers
//! get two (the uncompressed `diff_id` and the compressed blob digest), both computed in the one
//! streaming pass that writes the layer.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use super::OciError;

/// A `sha256:` content digest with exactly 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    /// The prefix of every digest rcraft writes.
    pub const PREFIX: &'static str = "sha256:";

    /// Parses and validates `sha256:<64 lowercase hex>`.
    pub fn parse(value: &str) -> Result<Self, OciError> {
        let valid = value.strip_prefix(Self::PREFIX).is_some_and(|hex| {
            hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(OciError::InvalidDigest {
                value: value.to_owned(),
            })
        }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    fn from_hasher(hasher: Sha256) -> Self {
        Self(format!(
            "{}{}",
            Self::PREFIX,
            hex::encode(hasher.finalize())
        ))
    }

    /// The 64 hex digits, without the `sha256:` prefix (the blob's file name).
    pub fn hex(&self) -> &str {
        &self.0[Self::PREFIX.len()..]
    }

    /// The full `sha256:<hex>` string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Digest {
    type Err = OciError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A writer that forwards everything to `W` and keeps a sha256 and a byte count of it.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The inner writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Returns the inner writer, the digest of everything written and its length.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, Digest::from_hasher(self.hasher), self.len)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that keeps a sha256 and a byte count of everything read through it.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Returns the inner reader, the digest of everything read and its length.
    pub fn finish(self) -> (R, Digest, u64) {
        (self.inner, Digest::from_hasher(self.hasher), self.len)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digest_of_empty_input_is_the_well_known_one() {
        assert_eq!(Digest::of(b"").as_str(), EMPTY);
        assert_eq!(Digest::of(b"").hex(), &EMPTY[7..]);
    }

    #[test]
    fn parse_accepts_only_lowercase_sha256_of_the_right_length() {
        assert_eq!(EMPTY.parse::<Digest>().unwrap().to_string(), EMPTY);
        for bad in [
            "",
            "sha256:",
            &EMPTY[..70],
            &EMPTY.to_uppercase(),
            &EMPTY.replace("sha256", "sha512"),
            &format!("{EMPTY}0"),
            &EMPTY.replace('e', "g"),
        ] {
            let err = Digest::parse(bad).unwrap_err();
            assert!(matches!(err, OciError::InvalidDigest { .. }), "{bad}");
        }
    }

    #[test]
    fn hashing_writer_and_reader_agree_with_one_shot_digest() {
        let data = b"hello, layers".repeat(1000);
        let mut w = HashingWriter::new(Vec::new());
        for chunk in data.chunks(7) {
            w.write_all(chunk).unwrap();
        }
        let (out, digest, len) = w.finish();
        assert_eq!(out, data);
        assert_eq!(len, data.len() as u64);
        assert_eq!(digest, Digest::of(&data));

        let mut r = HashingReader::new(&data[..]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        let (_, digest2, len2) = r.finish();
        assert_eq!((digest2, len2), (Digest::of(&data), data.len() as u64));
    }
}
