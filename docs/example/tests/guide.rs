//! docs/guide.md's "Testing your own service" quotes this crate: every Rust
//! block there must appear, verbatim, in one of its files.

#[test]
fn the_guide_quotes_this_crate_verbatim() {
    let root = env!("CARGO_MANIFEST_DIR");
    let guide = std::fs::read_to_string(format!("{root}/../guide.md")).unwrap();
    let section = guide
        .split("## Testing your own service")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the guide has the section");
    let sources: Vec<String> = [
        "src/service.rs",
        "src/scenario.rs",
        "src/bin/hormesis-quotes.rs",
        "tests/resilience.rs",
        "tests/replays.rs",
        "Cargo.toml",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(format!("{root}/{f}")).unwrap())
    .collect();
    let blocks: Vec<&str> = section
        .split("```rust\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 4, "{}", blocks.len());
    for block in blocks {
        assert!(
            sources.iter().any(|s| s.contains(block)),
            "this block of docs/guide.md is not in the example crate:\n{block}"
        );
    }
}
