//! The flags several commands share (`--json`, `--case`/`--basis`), apart
//! from [`super::args`] so that the command files that take them need not
//! import the argument tree that names those commands.

use clap::Args;

/// `--case REF --basis TEXT`: what an exchange is made under. The audit
/// log keeps only a salted commitment to them (`liaison audit open-case`).
#[derive(Debug, Args)]
pub(super) struct CaseArgs {
    /// The case reference (logged only as a salted commitment).
    #[arg(long, requires = "basis")]
    case: Option<String>,
    /// The legal basis (with --case).
    #[arg(long, requires = "case")]
    basis: Option<String>,
}

impl CaseArgs {
    /// Both, if given.
    pub(super) fn pair(self) -> Option<(String, String)> {
        self.case.zip(self.basis)
    }
}

/// `--json`, for the commands that take nothing else.
#[derive(Debug, Args)]
pub(super) struct JsonArg {
    /// JSON output.
    #[arg(long)]
    pub(super) json: bool,
}
