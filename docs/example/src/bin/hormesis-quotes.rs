//! The whole hormesis command line for the quote service: `cargo run -p
//! hormesis-example --bin hormesis-quotes -- explore --scenario quotes --budget 8`.

// Each simulation's memory is counted, so a run that grows without end
// stops at hormesis's budget instead of filling the machine.
#[global_allocator]
static ALLOCATOR: hormesis::memory::CountingAllocator = hormesis::memory::CountingAllocator;

fn main() -> std::process::ExitCode {
    hormesis::cli::main(&[&hormesis_example::scenario::Quotes])
}
