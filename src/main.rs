//! The `ariza` program. Everything it does lives in the `ariza-cli` library.

fn main() -> std::process::ExitCode {
    ariza_cli::main()
}
