//! Reading the binary wire formats: a cursor that never reads past its
//! input and names the field it was reading when the bytes ran out.
//!
//! Every integer is big-endian; every variable-length field carries its
//! length in front. Decoders check lengths against their caps *before*
//! taking the bytes, so a hostile length costs nothing.

/// Why bytes from a peer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended inside `field`.
    #[error("truncated: the input ends inside `{field}`")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// A field's value is not allowed.
    #[error("malformed `{field}`: {problem}")]
    Malformed {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A length is over its cap.
    #[error("`{field}` is {len} bytes, over the limit of {max}")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// Its claimed length.
        len: u64,
        /// The cap.
        max: u64,
    },
    /// Bytes follow the last field.
    #[error("{extra} unexpected bytes after the last field")]
    Trailing {
        /// How many.
        extra: usize,
    },
}

impl Error {
    /// The field the error is about (`trailing` for bytes after the end).
    pub fn field(&self) -> &'static str {
        match self {
            Error::Truncated { field }
            | Error::Malformed { field, .. }
            | Error::TooLarge { field, .. } => field,
            Error::Trailing { .. } => "trailing",
        }
    }
}

/// A cursor over bytes received from a peer.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Error> {
        if self.rest.len() < n {
            return Err(Error::Truncated { field });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A `u32` length followed by that many bytes, refused over `max`.
    pub(crate) fn bytes32(&mut self, max: usize, field: &'static str) -> Result<&'a [u8], Error> {
        let len = self.u32(field)?;
        if u64::from(len) > max as u64 {
            return Err(Error::TooLarge {
                field,
                len: len.into(),
                max: max as u64,
            });
        }
        self.take(len as usize, field)
    }

    /// Succeeds only if every byte was read.
    pub(crate) fn finish(self) -> Result<(), Error> {
        match self.rest.len() {
            0 => Ok(()),
            extra => Err(Error::Trailing { extra }),
        }
    }
}
