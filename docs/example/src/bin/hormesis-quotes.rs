//! The whole hormesis command line for the quote service: `cargo run -p
//! hormesis-example --bin hormesis-quotes -- explore --scenario quotes --budget 8`.

fn main() -> std::process::ExitCode {
    hormesis::cli::main(&[&hormesis_example::scenario::Quotes])
}
