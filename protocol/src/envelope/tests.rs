use proptest::prelude::*;
use rand_chacha_09::rand_core::SeedableRng as _;
use rand_chacha_09::ChaCha20Rng;

use super::*;

struct Party {
    signing: SigningKey,
    sealing: SealingKey,
    card: AgencyKey,
}

fn party(seed: u8) -> Party {
    let signing = SigningKey::from_seed(&[seed; 32]);
    let sealing = SealingKey::from_bytes([seed.wrapping_add(100); 32]);
    let card = AgencyKey::new(&signing, &sealing);
    Party {
        signing,
        sealing,
        card,
    }
}

const FED: &str = "central-asia";
const NOW: u64 = 1_796_000_000_000;
const WINDOW: Window = Window {
    now_ms: NOW,
    max_age_ms: 7 * 24 * 3600 * 1000,
    max_skew_ms: 5 * 60 * 1000,
};

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(7)
}

fn sealed(from: &Party, to: &Party, body: &[u8]) -> Envelope {
    let draft = Draft {
        federation: FED,
        context: "liaison/ping/v1",
        recipient: &to.card,
        message_id: MessageId([9; 16]),
        epoch: 3,
        timestamp_ms: NOW,
        body,
    };
    seal(&from.signing, draft, &mut rng()).expect("seals")
}

fn open(env: &Envelope, me: &Party, trusted: &[&Party]) -> Result<Opened, OpenError> {
    env.open(
        Recipient {
            federation: FED,
            signing: &me.signing,
            sealing: &me.sealing,
        },
        |k| {
            trusted
                .iter()
                .find(|p| p.card.verifying_key() == k)
                .map(|p| &p.card)
        },
        |_, _| false,
        WINDOW,
    )
}

/// Opens as `me`, trusting only `from`, at `window`, with `seen` as the
/// replay set's answer.
fn open_with(
    env: &Envelope,
    me: &Party,
    from: &Party,
    federation: &str,
    window: Window,
    seen: bool,
) -> Result<Opened, OpenError> {
    env.open(
        Recipient {
            federation,
            signing: &me.signing,
            sealing: &me.sealing,
        },
        |_| Some(&from.card),
        |_, _| seen,
        window,
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn round_trip() {
    let (a, b) = (party(1), party(2));
    let env = sealed(&a, &b, b"hello");
    let bytes = env.to_bytes();
    let back = Envelope::decode(&bytes, MAX_ENVELOPE).expect("decodes");
    assert_eq!(back, env);
    let opened = open(&back, &b, &[&a]).expect("opens");
    assert_eq!(opened.body, b"hello");
    assert_eq!(opened.header.context, "liaison/ping/v1");
    assert_eq!(opened.header.epoch, 3);
    assert!(env.verify_reveal(&opened.salt, b"hello"));
    assert!(!env.verify_reveal(&opened.salt, b"hellp"));
}

const HEADER_HEX: &str = "010f6c696169736f6e2f70696e672f76318a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394090909090909090909090909090909090000000000000003000001a229f12800";
const ENVELOPE_SHA256: &str = "ee914c9b92f2e55fa426efc34977189a59e342ee6ec95c8b2240a8ad3e56b455";
const RECEIPT_HEX: &str = concat!(
    "028139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3948a88e3dd7409f195fd52db2d3cba5d",
    "72ca6709bf1d94121bf3748801b40f6f5c09090909090909090909090909090909ee914c9b92f2e55fa426efc3497718",
    "9a59e342ee6ec95c8b2240a8ad3e56b455000001a229f1280500000000000004120206d99be27d0463285c03ec520b08",
    "ac01b4c6fd6f6683dec6914489e59b1b0d7b7521c7f7d759dd7e6e8233e4b4773a1d4cca1052b383cfff6a8f72569cb6",
    "8aaa04",
);

/// The exact bytes of one envelope and one receipt: any change to the
/// format (field order, widths, domain strings) fails here, and must come
/// with a new version byte.
#[test]
fn snapshot() {
    let (a, b) = (party(1), party(2));
    let env = sealed(&a, &b, b"snapshot body");
    let bytes = env.to_bytes();
    assert_eq!(
        bytes.len(),
        2 + 15 + 32 + 32 + 16 + 16 + 32 + 32 + 4 + 32 + 13 + 16 + 64
    );
    // The clear header: version, context, keys, id, epoch, timestamp.
    assert_eq!(hex(&bytes[..2 + 15 + 32 + 32 + 16 + 16]), HEADER_HEX);
    // All of it, through a hash (HPKE output included: the RNG is seeded).
    assert_eq!(hex(&Sha256::digest(&bytes)), ENVELOPE_SHA256);
    let receipt = Receipt::sign(
        &b.signing,
        a.signing.verifying_key(),
        env.header.message_id,
        env.hash(),
        NOW + 5,
        1042,
        Outcome::Refused(Refusal::Stale),
    );
    assert_eq!(hex(&receipt.to_bytes()), RECEIPT_HEX);
}

#[test]
fn refusals_each_have_their_variant() {
    let (a, b, c) = (party(1), party(2), party(3));
    let env = sealed(&a, &b, b"x");

    assert_eq!(open(&env, &c, &[&a]), Err(OpenError::WrongRecipient));
    assert_eq!(open(&env, &b, &[&c]), Err(OpenError::UnknownSender));

    let mut forged = env.clone();
    forged.header.epoch = 4;
    assert_eq!(open(&forged, &b, &[&a]), Err(OpenError::BadSignature));

    let mut flipped = env.clone();
    flipped.ciphertext[40] ^= 1;
    assert_eq!(open(&flipped, &b, &[&a]), Err(OpenError::BadSignature));

    let replay = open_with(&env, &b, &a, FED, WINDOW, true);
    assert_eq!(replay, Err(OpenError::Replayed(MessageId([9; 16]))));

    let late = Window {
        now_ms: NOW + WINDOW.max_age_ms + 1,
        ..WINDOW
    };
    let stale = open_with(&env, &b, &a, FED, late, false);
    assert!(matches!(stale, Err(OpenError::Stale { .. })), "{stale:?}");

    let early = Window {
        now_ms: NOW - WINDOW.max_skew_ms - 1,
        ..WINDOW
    };
    let future = open_with(&env, &b, &a, FED, early, false);
    assert!(
        matches!(future, Err(OpenError::FromFuture { .. })),
        "{future:?}"
    );

    let bytes = env.to_bytes();
    assert!(matches!(
        Envelope::decode(&bytes, bytes.len() - 1),
        Err(OpenError::Decode(wire::Error::TooLarge { .. }))
    ));
    let mut v2 = bytes.clone();
    v2[0] = 2;
    assert_eq!(
        Envelope::decode(&v2, MAX_ENVELOPE),
        Err(OpenError::Version(2))
    );
}

/// A sender who signs a body it did not commit to (or a ciphertext that
/// is not for us) is caught after decryption.
#[test]
fn commitment_and_decryption_are_checked() {
    let (a, b, c) = (party(1), party(2), party(3));
    let mut env = sealed(&a, &b, b"x");
    env.commitment[0] ^= 1;
    env.signature = a.signing.sign(&env.signed_part(FED)).to_bytes();
    assert_eq!(open(&env, &b, &[&a]), Err(OpenError::Commitment));

    // Sealed to c's key but addressed (and signed) to b.
    let mut env = sealed(&a, &c, b"x");
    env.header.recipient = b.signing.verifying_key();
    env.signature = a.signing.sign(&env.signed_part(FED)).to_bytes();
    assert_eq!(open(&env, &b, &[&a]), Err(OpenError::Undecryptable));
}

/// The same keys in another federation: neither the signature nor the
/// ciphertext is valid there.
#[test]
fn an_envelope_of_another_federation_is_refused() {
    let (a, b) = (party(1), party(2));
    let env = sealed(&a, &b, b"x");
    let other = open_with(&env, &b, &a, "another", WINDOW, false);
    assert_eq!(other, Err(OpenError::BadSignature));
    assert_eq!(env.verify_signature(FED), Ok(()));
    assert_eq!(
        env.verify_signature("another"),
        Err(OpenError::BadSignature)
    );
}

/// Mallory re-signs Alice's envelope as her own: the header is HPKE's
/// associated data, so the changed sender breaks decryption.
#[test]
fn re_signed_envelope_does_not_open() {
    let (a, b, m) = (party(1), party(2), party(4));
    let mut env = sealed(&a, &b, b"secret");
    env.header.sender = m.signing.verifying_key();
    env.signature = m.signing.sign(&env.signed_part(FED)).to_bytes();
    assert_eq!(open(&env, &b, &[&a, &m]), Err(OpenError::Undecryptable));
}

#[test]
fn every_truncation_is_refused() {
    let (a, b) = (party(1), party(2));
    let bytes = sealed(&a, &b, b"truncate me").to_bytes();
    for n in 0..bytes.len() {
        assert!(
            Envelope::decode(&bytes[..n], MAX_ENVELOPE).is_err(),
            "prefix of {n} bytes decoded"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Envelope::decode(&longer, MAX_ENVELOPE),
        Err(OpenError::Decode(wire::Error::Trailing { extra: 1 }))
    ));
}

#[test]
fn seal_refuses_bad_drafts() {
    let (a, b) = (party(1), party(2));
    let big = vec![0u8; MAX_BODY + 1];
    let mut draft = Draft {
        federation: FED,
        context: "liaison/ping/v1",
        recipient: &b.card,
        message_id: MessageId([0; 16]),
        epoch: 0,
        timestamp_ms: NOW,
        body: &big,
    };
    assert!(matches!(
        seal(&a.signing, draft, &mut rng()),
        Err(SealError::BodyTooLarge { .. })
    ));
    draft.body = b"";
    draft.context = "Liaison/Ping";
    assert!(matches!(
        seal(&a.signing, draft, &mut rng()),
        Err(SealError::Context { .. })
    ));
    let max = vec![7u8; MAX_BODY];
    draft.context = "liaison/ping/v1";
    draft.body = &max;
    let env = seal(&a.signing, draft, &mut rng()).expect("a body of exactly MAX_BODY seals");
    assert!(env.to_bytes().len() <= MAX_ENVELOPE);
    assert_eq!(open(&env, &b, &[&a]).map(|o| o.body.len()), Ok(MAX_BODY));
}

#[test]
fn receipts_verify_and_refuse() {
    let (a, b, c) = (party(1), party(2), party(3));
    let env = sealed(&a, &b, b"x");
    let hash = env.hash();
    let id = env.header.message_id;
    let (ak, bk, ck) = (
        a.signing.verifying_key(),
        b.signing.verifying_key(),
        c.signing.verifying_key(),
    );
    for outcome in [Outcome::Accepted, Outcome::Duplicate]
        .into_iter()
        .chain(Refusal::ALL.map(Outcome::Refused))
    {
        let r = Receipt::sign(&b.signing, ak, id, hash, NOW, 7, outcome);
        let back = Receipt::decode(&r.to_bytes()).expect("decodes");
        assert_eq!(back, r);
        assert_eq!(back.verify(&bk, &ak, &id, &hash), Ok(()));
    }
    let r = Receipt::sign(&b.signing, ak, id, hash, NOW, 7, Outcome::Accepted);
    assert_eq!(
        r.verify(&ck, &ak, &id, &hash),
        Err(ReceiptError::WrongSigner)
    );
    assert_eq!(
        r.verify(&bk, &ak, &MessageId([0; 16]), &hash),
        Err(ReceiptError::WrongEnvelope)
    );
    let mut bytes = r.to_bytes();
    bytes[1 + 32 + 32 + 16 + 32 + 2] ^= 1; // inside received_at
    let tampered = Receipt::decode(&bytes).expect("still decodes");
    assert_eq!(
        tampered.verify(&bk, &ak, &id, &hash),
        Err(ReceiptError::BadSignature)
    );
    for n in 0..RECEIPT_LEN {
        assert!(Receipt::decode(&bytes[..n]).is_err());
    }
}

proptest! {
    #[test]
    fn any_body_and_header_round_trips(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        context in "[a-z0-9/._-]{1,64}",
        id in any::<[u8; 16]>(),
        epoch in any::<u64>(),
        skew in 0u64..1000,
    ) {
        let (a, b) = (party(1), party(2));
        let draft = Draft {
            federation: FED,
            context: &context,
            recipient: &b.card,
            message_id: MessageId(id),
            epoch,
            timestamp_ms: NOW - skew,
            body: &body,
        };
        let env = seal(&a.signing, draft, &mut rng()).expect("seals");
        let back = Envelope::decode(&env.to_bytes(), MAX_ENVELOPE).expect("decodes");
        prop_assert_eq!(&back, &env);
        let opened = open(&back, &b, &[&a]).expect("opens");
        prop_assert_eq!(opened.body, body);
        prop_assert_eq!(opened.header, env.header);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let b = party(2);
        if let Ok(env) = Envelope::decode(&bytes, MAX_ENVELOPE) {
            let _ = open(&env, &b, &[&party(1)]);
        }
        let _ = Receipt::decode(&bytes);
    }

    #[test]
    fn any_single_byte_change_is_refused(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (a, b) = (party(1), party(2));
        let mut bytes = sealed(&a, &b, b"flip one bit").to_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let refused = match Envelope::decode(&bytes, MAX_ENVELOPE) {
            Err(_) => true,
            Ok(env) => open(&env, &b, &[&a]).is_err(),
        };
        prop_assert!(refused, "a change at byte {} was accepted", i);
    }
}

#[test]
fn a_kept_envelope_reopens_only_for_its_recipient_and_sender_and_unaltered() {
    let (a, b, c) = (party(1), party(2), party(3));
    let env = sealed(&b, &a, b"a report for a");
    fn me(p: &Party) -> Recipient<'_> {
        Recipient {
            federation: FED,
            signing: &p.signing,
            sealing: &p.sealing,
        }
    }
    // Long after any time window: a kept envelope still verifies.
    let opened = env.reopen(me(&a), b.card.verifying_key()).unwrap();
    assert_eq!(opened.body, b"a report for a");
    assert!(env.verify_reveal(&opened.salt, &opened.body));
    // Not for another recipient, not as from another sender.
    assert_eq!(
        env.reopen(me(&c), b.card.verifying_key()),
        Err(OpenError::WrongRecipient)
    );
    assert_eq!(
        env.reopen(me(&a), c.card.verifying_key()),
        Err(OpenError::UnknownSender)
    );
    // Re-addressed to c: the owner's signature no longer holds.
    let mut moved = env.clone();
    moved.header.recipient = *c.card.verifying_key();
    assert_eq!(
        moved.reopen(me(&c), b.card.verifying_key()),
        Err(OpenError::BadSignature)
    );
    // Any byte changed is refused.
    let bytes = env.to_bytes();
    for i in (0..bytes.len()).step_by(7) {
        let mut bad = bytes.clone();
        bad[i] ^= 1;
        if let Ok(e) = Envelope::decode(&bad, MAX_ENVELOPE) {
            assert!(
                e.reopen(me(&a), b.card.verifying_key()).is_err(),
                "byte {i}"
            );
        }
    }
}
