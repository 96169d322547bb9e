//! The quote service's kept incidents, each its own test named after its
//! file (`spike`, `smallest-spike`, ...): a regression names the
//! incident, its seed and how to rerun it.

fn main() {
    hormesis::testing::replays("replays", &[&hormesis_example::scenario::Quotes]);
}
