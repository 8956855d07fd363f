//! The node's people: local accounts, their roles, passwords and API
//! tokens, and the audit entries their actions leave.
//!
//! An account has a name (`a-z 0-9 . _ -`, as the audit log carries it),
//! one or more [`Role`]s, an optional password (Argon2id, PHC string) for
//! signing in from a browser, and an optional API token for scripts (32
//! random bytes shown once; only its SHA-256 is kept, under the `users`
//! column, so a token is looked up without a slow hash and a copy of the
//! store gives no token). A disabled account signs in with nothing, and
//! its token is refused at the next request: every request reads the
//! account.
//!
//! Signing in counts failures: after [`LOCK_AFTER`] in a row the account
//! is locked for [`LOCK_FOR`]; each failure and each lock is an audit
//! entry ([`local`]). Every change to an account is a [`Kind::Local`]
//! entry naming who made it, written in the same batch as the change.
//!
//! In: the store, the acting user's name and the time. Out: accounts, and
//! [`Error`]s that name what was wrong and the fix.

use std::fmt;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng as SaltRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use liaison_protocol::audit::{Entry, Kind, LOCAL_DENIED, LOCAL_DONE, LOCAL_FAILED};
use rand_core_09::{OsRng, TryRngCore as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::store::{self, users as column, Batch, Store};

/// Consecutive failed sign-ins that lock an account.
pub const LOCK_AFTER: u32 = 5;
/// How long a locked account stays locked.
pub const LOCK_FOR: Duration = Duration::from_secs(15 * 60);
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (bytes): Argon2 reads all of it.
pub const MAX_PASSWORD: usize = 1024;

/// Argon2id with OWASP's first recommended memory (46 MiB, one lane) and
/// two passes where OWASP asks one: with one pass a sign-in cost 46 ms on
/// the project's 2-core machine, under the 50–200 ms asked for; with two,
/// 74 ms (median; `cargo bench -p liaison --bench users`).
pub fn argon2() -> Argon2<'static> {
    #[allow(clippy::unwrap_used)] // Constant parameters, within Argon2's bounds.
    let params = Params::new(46 * 1024, 2, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// What a user may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Finds, matches, watches, requests, reads reports, loads records.
    Analyst,
    /// An analyst who also approves, refuses and redacts releases and
    /// withdraws records.
    Supervisor,
    /// Reads, verifies and exports the audit log; no records, no reports.
    Auditor,
    /// Peers, users, config reload and the store's upkeep; no records.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Analyst, Role::Supervisor, Role::Auditor, Role::Admin];

    /// Its name, as written on the command line and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Whether this role grants `right`.
    pub fn grants(self, right: Right) -> bool {
        use Right::*;
        match self {
            Role::Analyst => matches!(
                right,
                Status | Peers | Records | Search | Match | Watch | Request | Reports
            ),
            Role::Supervisor => Role::Analyst.grants(right) || matches!(right, Decide | Withdraw),
            Role::Auditor => matches!(right, Status | Peers | Audit),
            Role::Admin => matches!(
                right,
                Status | Peers | ManagePeers | Users | Reload | Upkeep | Transport
            ),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an action needs. Each API route names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// The node's status (no record content).
    Status,
    /// The trusted peers, read.
    Peers,
    /// Load and read local records.
    Records,
    /// Look up local records by an identifier.
    Search,
    /// Hit/no-hit matching against peers, and its hits.
    Match,
    /// The watchlist and its alerts.
    Watch,
    /// Follow-up requests to peers, and their answers.
    Request,
    /// Reports received.
    Reports,
    /// Approve, refuse and redact peers' requests.
    Decide,
    /// Withdraw local records.
    Withdraw,
    /// Read, verify and export the audit log.
    Audit,
    /// Trust and stop trusting peers.
    ManagePeers,
    /// Local accounts.
    Users,
    /// Re-read the config.
    Reload,
    /// The store's upkeep: check, reindex, purge.
    Upkeep,
    /// Pings and removable-media bundles.
    Transport,
}

impl Right {
    /// Every right.
    pub const ALL: [Right; 16] = [
        Right::Status,
        Right::Peers,
        Right::Records,
        Right::Search,
        Right::Match,
        Right::Watch,
        Right::Request,
        Right::Reports,
        Right::Decide,
        Right::Withdraw,
        Right::Audit,
        Right::ManagePeers,
        Right::Users,
        Right::Reload,
        Right::Upkeep,
        Right::Transport,
    ];

    /// The roles that grant it.
    pub fn roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| r.grants(self)).collect()
    }
}

/// A stored account.
#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    /// Its name.
    pub name: String,
    /// Its roles (at least one).
    pub roles: Vec<Role>,
    /// Argon2id of its password (PHC string), if it has one.
    #[serde(default)]
    password: Option<String>,
    /// SHA-256 (hex) of its API token, if it has one.
    #[serde(default)]
    token: Option<String>,
    /// When its token was made, Unix ms.
    #[serde(default)]
    pub token_ms: Option<u64>,
    /// Refused everything.
    #[serde(default)]
    pub disabled: bool,
    /// When it was made, Unix ms, and by whom.
    pub created_ms: u64,
    /// Who made it.
    pub created_by: String,
    /// Failed sign-ins since the last good one.
    #[serde(default)]
    pub failures: u32,
    /// Locked until then, Unix ms.
    #[serde(default)]
    pub locked_until_ms: Option<u64>,
    /// Its last good sign-in, Unix ms.
    #[serde(default)]
    pub last_login_ms: Option<u64>,
    /// The language it chose for the console (`en`, `ru`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the hashes: they would help an offline guess.
        f.debug_struct("User")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl User {
    /// Whether any of its roles grants `right`.
    pub fn may(&self, right: Right) -> bool {
        self.roles.iter().any(|r| r.grants(right))
    }

    /// What `user list` and the API show: no hashes.
    pub fn account(&self, now_ms: u64) -> Account {
        Account {
            name: self.name.clone(),
            roles: self.roles.clone(),
            disabled: self.disabled,
            password: self.password.is_some(),
            token: self.token.is_some(),
            token_ms: self.token_ms,
            created_ms: self.created_ms,
            created_by: self.created_by.clone(),
            locked: self.locked_until_ms.is_some_and(|t| t > now_ms),
            failures: self.failures,
            last_login_ms: self.last_login_ms,
        }
    }
}

/// An account as shown to people and tools: no secrets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Account {
    /// Its name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Refused everything.
    pub disabled: bool,
    /// Whether it has a password (can sign in from a browser).
    pub password: bool,
    /// Whether it has an API token.
    pub token: bool,
    /// When its token was made, Unix ms.
    pub token_ms: Option<u64>,
    /// When it was made, Unix ms.
    pub created_ms: u64,
    /// Who made it.
    pub created_by: String,
    /// Locked after failed sign-ins.
    pub locked: bool,
    /// Failed sign-ins since the last good one.
    pub failures: u32,
    /// Its last good sign-in, Unix ms.
    pub last_login_ms: Option<u64>,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name that cannot be an account's.
    #[error("{0:?} is not a user name: use 1 to 40 of a-z, 0-9, '.', '_', '-', starting with a letter or digit (like ivanov or a.ivanov)")]
    BadName(String),
    /// No such account.
    #[error("no user {0}: `liaison user list` shows them, `liaison user add NAME --role ROLE` makes one")]
    Unknown(String),
    /// The name is taken.
    #[error("user {0} exists already: nothing was changed (`liaison user passwd {0}` sets its password)")]
    Exists(String),
    /// No roles given.
    #[error("a user needs a role: --role analyst, supervisor, auditor or admin (repeatable)")]
    NoRole,
    /// A password too short or too long.
    #[error("a password must be {MIN_PASSWORD} to {MAX_PASSWORD} bytes long: a phrase of several words is easiest")]
    BadPassword,
    /// Signing in failed: the same answer for a wrong name, a wrong
    /// password, a locked and a disabled account, so the answer tells an
    /// attacker nothing about which accounts exist.
    #[error("wrong user name or password, or the account is locked or disabled: ask an admin if it keeps failing")]
    SignIn,
    /// Disabling the only enabled admin would leave nobody to manage
    /// accounts.
    #[error(
        "{0} is the only enabled admin: add another admin first, or nobody could manage accounts"
    )]
    LastAdmin(String),
    /// A disabled account acted.
    #[error("user {0} is disabled: an admin can enable it (`liaison user enable {0}`)")]
    Disabled(String),
    /// Not a language tag.
    #[error("{0:?} is not a language tag: use one like en or ru")]
    BadLanguage(String),
    /// The account lacks the right.
    #[error("user {user} may not {right:?}: that needs the role {roles}")]
    Denied {
        /// The account.
        user: String,
        /// What it tried.
        right: Right,
        /// The roles that would allow it.
        roles: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Hashing failed (should not happen with valid parameters).
    #[error("hashing the password failed: {0}")]
    Hash(String),
    /// The OS gave no randomness.
    #[error("the OS gave no randomness for a token: {0}")]
    Random(String),
}

/// A [`Kind::Local`] audit entry: `user` did `action` at `now_ms` with
/// `outcome` ([`LOCAL_DONE`], [`LOCAL_DENIED`] or [`LOCAL_FAILED`]).
/// A name that is not a user name (a failed sign-in's) is left out.
pub fn local(action: &str, user: &str, outcome: u16, now_ms: u64) -> Entry {
    let mut e = Entry::new(Kind::Local, now_ms);
    e.context = action.chars().take(64).collect();
    e.code = outcome;
    e.user = Entry::valid_user(user).then(|| user.to_owned());
    e
}

/// Longest account name: an action naming it (`user-disable:NAME`) must
/// fit the log's 64-byte context.
pub const MAX_NAME: usize = 40;

fn check_name(name: &str) -> Result<(), Error> {
    if Entry::valid_user(name) && name.len() <= MAX_NAME {
        Ok(())
    } else {
        Err(Error::BadName(name.to_owned()))
    }
}

fn hash_password(password: &str) -> Result<String, Error> {
    if password.len() < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(Error::BadPassword);
    }
    let salt = SaltString::generate(&mut SaltRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Hash(e.to_string()))
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The account `name`.
pub fn get(store: &Store, name: &str) -> Result<Option<User>, Error> {
    Ok(column::get(store, name)?)
}

/// Every account, by name.
pub fn list(store: &Store) -> Result<Vec<User>, Error> {
    Ok(column::all(store)?)
}

/// Whether the node has any account yet.
pub fn any(store: &Store) -> Result<bool, Error> {
    Ok(column::any(store)?)
}

/// Writes `user` with the audit entry `action` by `actor`.
fn save(
    store: &Store,
    user: &User,
    entry: Entry,
    extra: impl FnOnce(&mut Batch),
) -> Result<(), Error> {
    let mut batch = Batch::default();
    column::put(&mut batch, &user.name, user)?;
    extra(&mut batch);
    store.append(batch, &[entry], true)?;
    Ok(())
}

/// Runs `f` on account `name` under its key lock and saves it with the
/// audit entry `action` by `actor`.
fn change(
    store: &Store,
    actor: &str,
    name: &str,
    action: &str,
    now_ms: u64,
    f: impl FnOnce(&mut User, &mut Batch) -> Result<(), Error>,
) -> Result<User, Error> {
    check_name(name)?;
    let key = format!("user/{name}");
    let _lock = store.key_lock(key.as_bytes());
    let mut user = get(store, name)?.ok_or_else(|| Error::Unknown(name.to_owned()))?;
    let mut batch = Batch::default();
    f(&mut user, &mut batch)?;
    column::put(&mut batch, name, &user)?;
    store.append(
        batch,
        &[local(
            &format!("{action}:{name}"),
            actor,
            LOCAL_DONE,
            now_ms,
        )],
        true,
    )?;
    Ok(user)
}

/// Makes account `name` with `roles` (and `password`, if given), by `actor`.
pub fn add(
    store: &Store,
    actor: &str,
    name: &str,
    roles: &[Role],
    password: Option<&str>,
    now_ms: u64,
) -> Result<User, Error> {
    check_name(name)?;
    if roles.is_empty() {
        return Err(Error::NoRole);
    }
    let password = password.map(hash_password).transpose()?;
    let key = format!("user/{name}");
    let _lock = store.key_lock(key.as_bytes());
    if get(store, name)?.is_some() {
        return Err(Error::Exists(name.to_owned()));
    }
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    let user = User {
        name: name.to_owned(),
        roles,
        password,
        token: None,
        token_ms: None,
        disabled: false,
        created_ms: now_ms,
        created_by: actor.to_owned(),
        failures: 0,
        locked_until_ms: None,
        last_login_ms: None,
        lang: None,
    };
    let mut entry = local(&format!("user-add:{name}"), actor, LOCAL_DONE, now_ms);
    entry.count = user.roles.len() as u64;
    save(store, &user, entry, |_| {})?;
    Ok(user)
}

/// Disables (or, with `enabled`, enables) account `name`. A disabled
/// account's token is refused from the next request on.
pub fn set_enabled(
    store: &Store,
    actor: &str,
    name: &str,
    enabled: bool,
    now_ms: u64,
) -> Result<User, Error> {
    let action = if enabled {
        "user-enable"
    } else {
        "user-disable"
    };
    if !enabled {
        let others = list(store)?
            .iter()
            .filter(|u| u.name != name && !u.disabled && u.roles.contains(&Role::Admin))
            .count();
        let is_admin = get(store, name)?.is_some_and(|u| u.roles.contains(&Role::Admin));
        if is_admin && others == 0 {
            return Err(Error::LastAdmin(name.to_owned()));
        }
    }
    change(store, actor, name, action, now_ms, |u, _| {
        u.disabled = !enabled;
        if enabled {
            u.failures = 0;
            u.locked_until_ms = None;
        }
        Ok(())
    })
}

/// Sets account `name`'s password (and unlocks it).
pub fn set_password(
    store: &Store,
    actor: &str,
    name: &str,
    password: &str,
    now_ms: u64,
) -> Result<User, Error> {
    let hashed = hash_password(password)?;
    change(store, actor, name, "user-passwd", now_ms, |u, _| {
        u.password = Some(hashed);
        u.failures = 0;
        u.locked_until_ms = None;
        Ok(())
    })
}

/// Records the language account `name` chose for itself (`None`: the
/// browser's again). Logged as `user-lang:NAME`.
pub fn set_language(
    store: &Store,
    name: &str,
    lang: Option<&str>,
    now_ms: u64,
) -> Result<User, Error> {
    if let Some(l) = lang {
        let ok = (2..=8).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            && !l.starts_with('-');
        if !ok {
            return Err(Error::BadLanguage(l.to_owned()));
        }
    }
    change(store, name, name, "user-lang", now_ms, |u, _| {
        u.lang = lang.map(str::to_owned);
        Ok(())
    })
}

/// Makes a new API token for account `name`, replacing its old one;
/// returns the token (shown once: only its hash is kept).
pub fn new_token(store: &Store, actor: &str, name: &str, now_ms: u64) -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| Error::Random(e.to_string()))?;
    let token = format!("lsn_{}", crate::hex::encode(&bytes));
    let hash = token_hash(&token);
    change(store, actor, name, "user-token", now_ms, |u, b| {
        if let Some(old) = u.token.as_deref().and_then(crate::hex::decode::<32>) {
            column::delete_token(b, &old);
        }
        column::put_token(b, &hash, name);
        u.token = Some(crate::hex::encode(&hash));
        u.token_ms = Some(now_ms);
        Ok(())
    })?;
    Ok(token)
}

/// The enabled account whose API token is `token`.
pub fn by_token(store: &Store, token: &str) -> Result<Option<User>, Error> {
    let hash = token_hash(token);
    let Some(name) = column::token_owner(store, &hash)? else {
        return Ok(None);
    };
    Ok(get(store, &name)?
        .filter(|u| !u.disabled && u.token.as_deref() == Some(crate::hex::encode(&hash).as_str())))
}

/// Signs `name` in with `password`: the account if the password is right
/// and the account enabled and not locked. Every outcome is an audit
/// entry (`login`, `login-failed`, `locked`); the [`LOCK_AFTER`]th failure
/// in a row locks the account for [`LOCK_FOR`]. A wrong name costs the
/// same hash as a wrong password, so timing does not tell them apart.
pub fn sign_in(store: &Store, name: &str, password: &str, now_ms: u64) -> Result<User, Error> {
    let failed = |user: &str| local("login-failed", user, LOCAL_FAILED, now_ms);
    let known = Entry::valid_user(name)
        .then(|| get(store, name))
        .transpose()?
        .flatten();
    let Some(_) = known else {
        // Same work as a real check.
        let _ = hash_password(&"x".repeat(MIN_PASSWORD));
        store.append(Batch::default(), &[failed("")], true)?;
        return Err(Error::SignIn);
    };
    let key = format!("user/{name}");
    let _lock = store.key_lock(key.as_bytes());
    let mut user = get(store, name)?.ok_or(Error::SignIn)?;
    // An account without a password (a script's) costs the same hash, so
    // timing does not tell it apart.
    let good = match user.password.as_deref() {
        Some(phc) => {
            password.len() <= MAX_PASSWORD
                && PasswordHash::new(phc)
                    .is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        }
        None => {
            let _ = hash_password(&"x".repeat(MIN_PASSWORD));
            false
        }
    };
    let locked = user.locked_until_ms.is_some_and(|t| t > now_ms);
    if user.locked_until_ms.is_some() && !locked {
        // The lock ran out: the count starts again.
        user.failures = 0;
        user.locked_until_ms = None;
    }
    if good && !locked && !user.disabled {
        user.failures = 0;
        user.locked_until_ms = None;
        user.last_login_ms = Some(now_ms);
        save(
            store,
            &user,
            local("login", name, LOCAL_DONE, now_ms),
            |_| {},
        )?;
        return Ok(user);
    }
    let mut entries = vec![failed(name)];
    if !good && !locked {
        user.failures = user.failures.saturating_add(1);
        if user.failures >= LOCK_AFTER {
            user.locked_until_ms = Some(now_ms + LOCK_FOR.as_millis() as u64);
            let mut lock = local("locked", name, LOCAL_FAILED, now_ms);
            lock.count = u64::from(user.failures);
            entries.push(lock);
        }
    }
    let mut batch = Batch::default();
    column::put(&mut batch, name, &user)?;
    store.append(batch, &entries, true)?;
    Err(Error::SignIn)
}

/// The account `name` if it may use `right`; a refusal is logged as a
/// `denied` entry for `action`.
pub fn authorize(
    store: &Store,
    name: &str,
    right: Right,
    action: &str,
    now_ms: u64,
) -> Result<User, Error> {
    let user = get(store, name)?.ok_or_else(|| Error::Unknown(name.to_owned()))?;
    if user.disabled {
        return Err(Error::Disabled(name.to_owned()));
    }
    if !user.may(right) {
        store.append(
            Batch::default(),
            &[local(action, name, LOCAL_DENIED, now_ms)],
            true,
        )?;
        return Err(denied(name, right));
    }
    Ok(user)
}

/// The refusal of `right` to `user`.
pub fn denied(user: &str, right: Right) -> Error {
    Error::Denied {
        user: user.to_owned(),
        right,
        roles: right
            .roles()
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

#[cfg(test)]
mod tests;
