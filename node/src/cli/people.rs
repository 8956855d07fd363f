//! `liaison user add|list|disable|enable|passwd|token`: the node's
//! accounts, through the daemon if it runs (the acting user needs the
//! `admin` role), else on the store (the service account's own).
//!
//! Passwords are read from the terminal without echo, twice, or with
//! `--password-stdin` as one line from standard input (for scripts);
//! never from the command line, where `ps` and the shell's history
//! would show them.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use liaison_config::Config;

use super::client::{acting_as, url_segment};
use super::{access, Access};
use crate::daemon::api::people::{NewToken, NewUser, Password};
use crate::users::{self, Account, Right, Role};

/// `liaison user ...`.
#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Make an account.
    Add(AddArgs),
    /// The accounts, their roles and state (no secrets).
    List(ListArgs),
    /// Refuse an account everything from now on (its token and sessions too).
    Disable(NameArg),
    /// Let a disabled account in again.
    Enable(NameArg),
    /// Set an account's password (and unlock it after failed sign-ins).
    Passwd(PasswdArgs),
    /// A new API token for an account's scripts, replacing its old one; shown once.
    Token(NameArg),
}

/// `liaison user add`.
#[derive(Debug, Args)]
pub(super) struct AddArgs {
    /// Its name (a-z, 0-9, '.', '_', '-').
    name: String,
    /// A role: analyst, supervisor, auditor or admin (repeatable).
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
    /// Set a password too (read from the terminal, or stdin with --password-stdin).
    #[arg(long)]
    password: bool,
    /// Read the password as one line from standard input.
    #[arg(long)]
    password_stdin: bool,
}

/// `liaison user list`.
#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// A user's name.
#[derive(Debug, Args)]
pub(super) struct NameArg {
    /// The account's name.
    name: String,
}

/// `liaison user passwd`.
#[derive(Debug, Args)]
pub(super) struct PasswdArgs {
    /// The account's name.
    name: String,
    /// Read the password as one line from standard input.
    #[arg(long)]
    password_stdin: bool,
}

/// Reads a password: a line of stdin, or twice from the terminal unechoed.
fn read_password(from_stdin: bool) -> Result<String> {
    let stdin = std::io::stdin();
    if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let ask = |prompt: &str| -> Result<String> {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
        let fd = std::io::stdin();
        let old = rustix::termios::tcgetattr(&fd).context("reading the terminal's settings")?;
        let mut quiet = old.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        rustix::termios::tcsetattr(&fd, rustix::termios::OptionalActions::Now, &quiet)
            .context("turning the terminal's echo off")?;
        let mut line = String::new();
        let read = fd.lock().read_line(&mut line);
        let _ = rustix::termios::tcsetattr(&fd, rustix::termios::OptionalActions::Now, &old);
        eprintln!();
        read.context("reading the password")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let first = ask("New password: ")?;
    if ask("Again: ")? != first {
        bail!("the two passwords differ: nothing was changed");
    }
    Ok(first)
}

fn print_account(a: &Account) {
    let roles: Vec<&str> = a.roles.iter().map(|r| r.as_str()).collect();
    let mut state = Vec::new();
    if a.disabled {
        state.push("disabled".to_owned());
    }
    if a.locked {
        state.push(format!("locked after {} failed sign-ins", a.failures));
    }
    if a.password {
        state.push("password".into());
    }
    if a.token {
        state.push("token".into());
    }
    println!(
        "{:<20} {:<28} {}",
        a.name,
        roles.join(","),
        state.join(", ")
    );
}

/// Runs a `user` command.
pub(super) fn run(config: &Config, command: Command) -> Result<ExitCode> {
    let now = crate::clock::system_ms();
    let me = acting_as();
    match command {
        Command::Add(a) => {
            let roles = a
                .roles
                .iter()
                .map(|r| {
                    Role::parse(r).with_context(|| {
                        format!("--role {r}: a role is analyst, supervisor, auditor or admin")
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let password = (a.password || a.password_stdin)
                .then(|| read_password(a.password_stdin))
                .transpose()?;
            let account = match access(config, Right::Users, None)? {
                Access::Daemon(c) => c.post::<_, Account>(
                    "/api/v1/users",
                    &NewUser {
                        name: a.name.clone(),
                        roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
                        password,
                    },
                )?,
                Access::Store(store) => {
                    users::add(&store, &me, &a.name, &roles, password.as_deref(), now)?.account(now)
                }
            };
            print!("added ");
            print_account(&account);
        }
        Command::List(a) => {
            let accounts = match access(config, Right::Users, None)? {
                Access::Daemon(c) => c.get_all::<Account>("/api/v1/users")?,
                Access::Store(store) => users::list(&store)?
                    .iter()
                    .map(|u| u.account(now))
                    .collect(),
            };
            if a.json {
                println!("{}", serde_json::to_string(&accounts)?);
            } else {
                for a in &accounts {
                    print_account(a);
                }
            }
        }
        Command::Disable(a) => set_enabled(config, &me, &a.name, false, now)?,
        Command::Enable(a) => set_enabled(config, &me, &a.name, true, now)?,
        Command::Passwd(a) => {
            let password = read_password(a.password_stdin)?;
            match access(config, Right::Users, None)? {
                Access::Daemon(c) => {
                    let _: Account = c.post(
                        &format!("/api/v1/users/{}/password", url_segment(&a.name)),
                        &Password { password },
                    )?;
                }
                Access::Store(store) => {
                    users::set_password(&store, &me, &a.name, &password, now)?;
                }
            }
            println!("password set for {}", a.name);
        }
        Command::Token(a) => {
            let token = match access(config, Right::Users, None)? {
                Access::Daemon(c) => {
                    c.post::<_, NewToken>(
                        &format!("/api/v1/users/{}/token", url_segment(&a.name)),
                        &serde_json::json!({}),
                    )?
                    .token
                }
                Access::Store(store) => users::new_token(&store, &me, &a.name, now)?,
            };
            eprintln!(
                "API token for {} (shown once; it replaces any older one; send it as `Authorization: Bearer TOKEN`):",
                a.name
            );
            println!("{token}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn set_enabled(config: &Config, me: &str, name: &str, enabled: bool, now: u64) -> Result<()> {
    let verb = if enabled { "enable" } else { "disable" };
    let account = match access(config, Right::Users, None)? {
        Access::Daemon(c) => c.post::<_, Account>(
            &format!("/api/v1/users/{}/{verb}", url_segment(name)),
            &serde_json::json!({}),
        )?,
        Access::Store(store) => users::set_enabled(&store, me, name, enabled, now)?.account(now),
    };
    print!("{verb}d ");
    print_account(&account);
    Ok(())
}
