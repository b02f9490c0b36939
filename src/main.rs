//! `charlab`: the command-line entry point; everything it does is in [`charlab::cli`].

fn main() -> std::process::ExitCode {
    charlab::cli::main()
}
