//! The `ariza` program. Everything it does lives in the `ariza-cli` library.

/// mimalloc rather than the system allocator: the workers allocate and free many small JSON
/// values per message, where glibc's malloc spent a sixth of the process's CPU (see
/// `docs/BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ariza_cli::main()
}
