//! The `hormesis` command line: [`hormesis::cli`] for the built-in scenarios.

fn main() -> std::process::ExitCode {
    hormesis::cli::main(&hormesis::scenarios::builtin())
}
