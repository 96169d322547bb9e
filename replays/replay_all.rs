//! Replays every incident in `replays/` as its own test: `cargo test -p
//! hormesis-replays` lists `retry-storm/spike`, `imported/checkout-outage`,
//! ... and a regression fails the test named after its file, with the seed,
//! what was expected, what happened, and the command that reproduces it.
//!
//! `HORMESIS_REPLAY_SET="key=value,key=value"` overrides parameters of every
//! incident that has them, as `hormesis replay --set` does.

fn main() {
    hormesis::testing::replays(
        hormesis_replays::incident_dir(),
        &hormesis::scenarios::builtin(),
    );
}
