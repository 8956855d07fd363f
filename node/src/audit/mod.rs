//! The audit log's node side: witnessing peers' logs ([`witness`]) and
//! the auditor's commands ([`verify`]: `audit verify`, `export`,
//! `verify-file`, `show`, `open-case`). The formats are
//! `liaison_protocol::audit`; the storage is [`crate::store::audit`].

pub mod verify;
pub mod witness;
