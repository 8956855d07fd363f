//! The `liaison` binary: see `liaison --help`.

fn main() -> std::process::ExitCode {
    liaison::cli::main()
}
