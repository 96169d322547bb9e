//! The `hormesis` command line: [`hormesis::cli`] for the built-in scenarios.

// Counts each simulation's memory, so a run that grows without end is
// stopped at `hormesis::memory::MAX_SIMULATION_BYTES` (docs/guide.md).
#[global_allocator]
static ALLOCATOR: hormesis::memory::CountingAllocator = hormesis::memory::CountingAllocator;

fn main() -> std::process::ExitCode {
    hormesis::cli::main(&hormesis::scenarios::all())
}
