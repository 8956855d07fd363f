//! The router: which domain applies which message, and the domains' state.
//!
//! In: envelopes from the network (the daemon's inbound workers) and from
//! bundles, through [`Router::receive`], which hands them to the envelope
//! layer's inbox ([`Post::receive`]); the inbox opens and checks each one
//! and asks the router, as its [`Apply`], what the message does. Here each
//! message type is mapped to its domain's handler: matching's
//! ([`crate::matching`]), the follow-up's ([`crate::exchange`]) and
//! witnessing ([`crate::audit::witness`]). What every handler would
//! otherwise begin with is written once: the body decoded (a body that
//! does not decode is refused as malformed before any handler runs or any
//! lock is taken), then the domain's lock taken where a whole message
//! type runs under it, handed to the handler as proof and held until the
//! change commits.
//! Out: the handler's [`Applied`], which the inbox commits; nothing here
//! touches the store but to note that a peer's log grew.
//!
//! The router owns the domains; the daemon, the API and bundles reach
//! them through it. Nothing below imports it.

use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use liaison_config::{Config, Peer};
use liaison_protocol::audit::note::Push;
use liaison_protocol::exchange::{Notice, Reply, Report, Request};
use liaison_protocol::matching::{Answer, Chunk, Delta, Evaluate};

use crate::audit::witness::{self, Witness};
use crate::exchange::{self, Exchange};
use crate::matching::{self, Matching};
use crate::post::{self, Applied, Apply, Message, Post, Received};

/// Why a message could not be applied now: the envelope gets no receipt
/// and the peer sends it again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The envelope layer (or the store under it) failed.
    #[error(transparent)]
    Post(#[from] post::Error),
    /// Matching failed applying a message.
    #[error("applying a matching message: {0}")]
    Matching(#[from] matching::Error),
    /// The follow-up failed applying a message.
    #[error("applying a follow-up message: {0}")]
    Exchange(#[from] exchange::Error),
}

/// The domains of one node, over its envelope layer.
#[derive(Debug)]
pub struct Router {
    post: Arc<Post>,
    matching: Arc<Matching>,
    exchange: Arc<Exchange>,
    witness: Witness,
}

impl Router {
    /// The domains for `config`, over `post`. Matching's owner role needs
    /// its keys opened ([`Matching::open_keys`]).
    pub fn new(post: Arc<Post>, config: &Config) -> Router {
        let matching = Arc::new(Matching::new(
            post.clone(),
            matching::Settings::from_config(config),
        ));
        let exchange = Arc::new(Exchange::new(
            post.clone(),
            matching.clone(),
            exchange::Settings::from_config(config),
        ));
        Router {
            witness: Witness::new(post.clone()),
            post,
            matching,
            exchange,
        }
    }

    /// The envelope layer.
    pub fn post(&self) -> &Arc<Post> {
        &self.post
    }

    /// Matching.
    pub fn matching(&self) -> &Arc<Matching> {
        &self.matching
    }

    /// The follow-up.
    pub fn exchange(&self) -> &Arc<Exchange> {
        &self.exchange
    }

    /// Witnessing.
    pub fn witness(&self) -> &Witness {
        &self.witness
    }

    /// Opens, checks and applies an envelope that arrived from `via` (the
    /// transport's authenticated peer, or `None` from a bundle) and
    /// returns the signed receipt ([`Post::receive`]). Blocks on RocksDB:
    /// call it from `spawn_blocking`.
    pub fn receive(&self, via: Option<&VerifyingKey>, bytes: &[u8]) -> Result<Received, Error> {
        self.post.receive(via, bytes, self)
    }
}

/// A message body the router decodes before its handler runs.
trait Body: Sized {
    fn decode_body(body: &[u8]) -> Option<Self>;
}

macro_rules! bodies {
    ($($t:ty),* $(,)?) => {
        $(impl Body for $t {
            fn decode_body(body: &[u8]) -> Option<Self> {
                <$t>::decode(body).ok()
            }
        })*
    };
}

bodies!(Push, Chunk, Delta, Evaluate, Answer, Request, Reply, Report, Notice);

/// `handle` of the decoded body, or [`Applied::Malformed`] if it does not
/// decode.
fn decoded<'p, T: Body, E>(
    body: &[u8],
    handle: impl FnOnce(T) -> Result<Applied<'p>, E>,
) -> Result<Applied<'p>, Error>
where
    Error: From<E>,
{
    match T::decode_body(body) {
        Some(message) => Ok(handle(message)?),
        None => Ok(Applied::Malformed),
    }
}

impl Apply for Router {
    type Error = Error;

    fn apply<'p>(&'p self, peer: &Peer, message: &Message<'_>) -> Result<Applied<'p>, Error> {
        use exchange::{context as x, owner as x_owner, requester};
        use matching::{context as m, owner as m_owner, querier};
        use witness::context as w;
        let (body, envelope) = (message.body, message.envelope);
        let (matching, exchange) = (&*self.matching, &*self.exchange);
        let applied = match message.context {
            post::context::PING => Applied::Handled(post::Handled::default()),
            // Each domain's lock is taken once the body has decoded (a
            // peer's garbage never holds it) and kept until the commit.
            w::CHECKPOINT => decoded(body, |push: Push| {
                let held = self.witness.witnessing();
                witness::on_checkpoint(&self.witness, peer, &push, &held).map(|a| a.holding(held))
            })?,
            w::COSIGNATURE => {
                let held = self.witness.witnessing();
                witness::on_cosignature(&self.witness, peer, body, &held)?.holding(held)
            }
            // One change of a peer's filter state at a time: the last
            // chunk of an epoch assembles the filter.
            m::CHUNK => decoded(body, |chunk| {
                let mut held = matching.filters();
                querier::on_chunk(matching, peer, chunk, &mut held).map(|a| a.holding(held))
            })?,
            m::DELTA => decoded(body, |delta| {
                let mut held = matching.filters();
                querier::on_delta(matching, peer, delta, &mut held).map(|a| a.holding(held))
            })?,
            m::EVALUATE => decoded(body, |req| {
                m_owner::evaluate(matching, peer, message.id.0, req)
            })?,
            m::ANSWER => decoded(body, |answer| {
                querier::on_answer(matching, peer, answer, envelope)
            })?,
            // One change of a request's state at a time: a reply and the
            // report it precedes may be applied on two workers.
            x::REQUEST => decoded(body, |req| {
                let held = exchange.deciding();
                x_owner::on_request(exchange, peer, req, &held).map(|a| a.holding(held))
            })?,
            x::REPLY => decoded(body, |reply| {
                let held = exchange.deciding();
                requester::on_reply(exchange, peer, reply, &held).map(|a| a.holding(held))
            })?,
            x::REPORT => decoded(body, |report| {
                let held = exchange.deciding();
                requester::on_report(exchange, peer, report, envelope, &held)
                    .map(|a| a.holding(held))
            })?,
            x::NOTICE => decoded(body, |notice| {
                let held = exchange.deciding();
                requester::on_notice(exchange, peer, notice, &held).map(|a| a.holding(held))
            })?,
            _ => Applied::Unknown,
        };
        // The peer's log grew by this message: it owes its witnesses a
        // checkpoint ([`witness::stale`]).
        Ok(match applied {
            Applied::Handled(mut h) if !witness::is_witnessing_context(message.context) => {
                self.post
                    .store()
                    .note_unwitnessed(
                        &mut h.effects,
                        peer.key.verifying_key().as_bytes(),
                        message.now_ms,
                    )
                    .map_err(post::Error::from)?;
                Applied::Handled(h)
            }
            other => other,
        })
    }
}
