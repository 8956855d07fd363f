//! The envelope protocol's stream format: one length-prefixed envelope
//! out, one length-prefixed receipt back, each read under its own cap.
//!
//! A peer that claims a longer frame is cut off before a byte of it is
//! buffered; a peer that sends slowly is cut off by the request timeout.

use std::io;

use async_trait::async_trait;
use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use liaison_protocol::envelope::MAX_ENVELOPE;
use libp2p::StreamProtocol;

/// The protocol name negotiated on each stream.
pub(crate) const PROTOCOL: StreamProtocol = StreamProtocol::new("/liaison/envelope/1");

/// Largest response: a receipt is 187 bytes; room for a later version.
pub(crate) const MAX_RESPONSE: usize = 4096;

/// Raw frames; the envelope layer above decodes them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Codec;

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the {max}-byte cap"),
        ));
    }
    // Grows as bytes arrive: a peer that claims a large frame and sends
    // nothing holds no memory.
    let mut buf = Vec::new();
    io.take(len as u64).read_to_end(&mut buf).await?;
    if buf.len() != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    frame: &[u8],
    max: usize,
) -> io::Result<()> {
    if frame.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "frame over its cap",
        ));
    }
    io.write_all(&(frame.len() as u32).to_be_bytes()).await?;
    io.write_all(frame).await?;
    io.close().await
}

#[async_trait]
impl libp2p::request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, MAX_ENVELOPE).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, MAX_RESPONSE).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req, MAX_ENVELOPE).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, MAX_RESPONSE).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_caps_hold() {
        futures::executor::block_on(async {
            let mut out = Vec::new();
            write_frame(&mut futures::io::Cursor::new(&mut out), b"abc", 10)
                .await
                .unwrap();
            assert_eq!(out, [0, 0, 0, 3, b'a', b'b', b'c']);
            let back = read_frame(&mut futures::io::Cursor::new(&out), 10)
                .await
                .unwrap();
            assert_eq!(back, b"abc");
            // Over the cap: refused from the length alone.
            let err = read_frame(&mut futures::io::Cursor::new(&out), 2)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            // A length that promises more than arrives.
            let short = [0, 0, 0, 9, 1, 2];
            let err = read_frame(&mut futures::io::Cursor::new(&short[..]), 10)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
            // A huge claimed length allocates nothing.
            let huge = [0xff, 0xff, 0xff, 0xff];
            assert!(
                read_frame(&mut futures::io::Cursor::new(&huge[..]), MAX_ENVELOPE)
                    .await
                    .is_err()
            );
        });
    }
}
