//! Every reader of user files, fed arbitrary bytes, arbitrary YAML/JSON
//! trees, arbitrary CSV and valid files with one value replaced by a
//! hostile one: none panics, and every error names the file it read.

use hormesis::explore::merge;
use hormesis::import::{import_timeline, Placement};
use hormesis::incident::Incident;
use hormesis::scenarios;
use hormesis_faults::Schedule;
use proptest::prelude::*;
use std::path::PathBuf;
use std::time::Duration;

const INCIDENT: &str = include_str!("../../replays/retry-storm/spike-retry-budget.yaml");
const SCHEDULE: &str = "version: 1\nevents:\n  - at: 60s\n    for: 10s\n    fault: load-spike\n    factor: 3\n  - at: 65s\n    for: 5s\n    fault: partition\n    between: [[server], [client-1, client-2]]\n  - at: 80s\n    fault: knob\n    knob: queue-flush\n";
const CSV: &str = "time,offered,event\n0,100,\n1,300,node-down:server\n2,300,\n3,100,node-up:server\n4,100,queue-flush\n";

/// Values that have broken parsers before: overflow, signs, NaN, nesting,
/// empties, wrong types, huge and odd text.
fn hostile_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("18446744073709551615s".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        Just("-5s".to_string()),
        Just("nan".to_string()),
        Just(".inf".to_string()),
        Just("1e308".to_string()),
        Just("0".to_string()),
        Just("0s".to_string()),
        Just("~".to_string()),
        Just("''".to_string()),
        Just("[".to_string()),
        Just("{a: [b, {c: d}]}".to_string()),
        Just("[[server], [server]]".to_string()),
        Just("\u{feff}x".to_string()),
        Just("*anchor".to_string()),
        Just("!!binary aGk=".to_string()),
        Just("8760h".to_string()),
        "[a-z0-9:=,.|+ -]{0,24}",
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
    ]
}

/// `text` with the value of line `pick` (modulo the line count) replaced.
fn replace_value(text: &str, pick: usize, value: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let i = pick % lines.len();
    lines
        .iter()
        .enumerate()
        .map(|(j, line)| {
            if j != i {
                return line.to_string();
            }
            match line.split_once(": ") {
                Some((key, _)) => format!("{key}: {value}"),
                None => format!("{line} {value}"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn yaml_tree() -> impl Strategy<Value = serde_yaml::Value> {
    let leaf = prop_oneof![
        Just(serde_yaml::Value::Null),
        any::<bool>().prop_map(serde_yaml::Value::Bool),
        any::<i64>().prop_map(|n| serde_yaml::Value::Number(n.into())),
        any::<f64>().prop_map(|f| serde_yaml::Value::Number(f.into())),
        hostile_scalar().prop_map(serde_yaml::Value::String),
        prop_oneof![
            Just("version"),
            Just("events"),
            Just("at"),
            Just("for"),
            Just("fault"),
            Just("load-spike"),
            Just("crash"),
            Just("server"),
            Just("1"),
            Just("60s"),
        ]
        .prop_map(|s| serde_yaml::Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_yaml::Value::Sequence),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("version"),
                        Just("events"),
                        Just("at"),
                        Just("for"),
                        Just("fault"),
                        Just("factor"),
                        Just("host"),
                        Just("between"),
                        Just("id"),
                        Just("scenario"),
                        Just("seed"),
                        Just("params"),
                        Just("schedule"),
                        Just("found"),
                        Just("expect"),
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|entries| {
                serde_yaml::Value::Mapping(
                    entries
                        .into_iter()
                        .map(|(k, v)| (serde_yaml::Value::String(k.to_string()), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn json_tree() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        hostile_scalar().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("scenario"),
                        Just("engine"),
                        Just("strategy"),
                        Just("seed"),
                        Just("shard"),
                        Just("runs"),
                        Just("summary"),
                        Just("score"),
                        Just("schedule"),
                        Just("budget"),
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|entries| {
                serde_json::Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn check_schedule(text: &str) {
    let result = Schedule::from_yaml(text, "s.yaml").and_then(|schedule| {
        // What parses is checked against a real target, as `run` does.
        let scenario = scenarios::find("retry-storm").unwrap();
        let target = hormesis_faults::Target {
            hosts: vec!["server".into()],
            clients: vec!["client-1".into(), "client-2".into()],
            knobs: scenario.knobs(),
            latest_end: Duration::from_secs(3540),
        };
        schedule.check(&target, "s.yaml", Some(text))
    });
    if let Err(e) = result {
        let shown = e.to_string();
        assert!(shown.starts_with("s.yaml"), "{shown}");
    }
}

fn check_incident(text: &str) {
    match Incident::parse(text, "i.yaml") {
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with("i.yaml"), "{shown}");
        }
        // What parses must also plan, or refuse with the file's name.
        Ok(incident) => {
            if let Err(e) = incident.plan(&hormesis::registry::Registry::builtin(), &[] as &[&str])
            {
                let shown = e.to_string();
                assert!(shown.starts_with("i.yaml"), "{shown}");
            }
        }
    }
}

fn check_policy(text: &str) {
    let scenario = scenarios::find("retry-storm").unwrap();
    let checked =
        hormesis::policy::Policy::parse(text, "p.yaml").and_then(|p| p.check(&[scenario]));
    if let Err(e) = checked {
        let shown = e.to_string();
        assert!(shown.starts_with("p.yaml"), "{shown}");
    }
}

const POLICY: &str =
    "mitigation: retry-budget\nretry_budget.ratio: 0.1\nretry_budget.max_tokens: 40\n";

fn shard_file(text: &str, case: u64) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("parsers");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("shard-{}-{case}.json", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn check_shard(text: &str, case: u64) {
    let path = shard_file(text, case);
    if let Err(e) = merge::load(&path) {
        assert!(e.to_string().contains("shard-"), "{e}");
    }
    let _ = std::fs::remove_file(path);
}

fn check_csv(text: &str) {
    let scenario = scenarios::find("retry-storm").unwrap();
    let hosts = vec!["server".to_string()];
    let placement = Placement {
        at: Duration::from_secs(30),
        baseline: None,
    };
    if let Err(e) = import_timeline(text, "t.csv", scenario, &hosts, &placement) {
        let shown = e.to_string();
        assert!(shown.starts_with("t.csv"), "{shown}");
    }
}

const SHARD: &str = r#"{"scenario":"retry-storm","engine":"turmoil","strategy":"thompson","seed":1,"shard":"0/1","set":[],"seeds":4,"budget":1,"stopped_early":false,"runs":[{"index":0,"arm":"load-spike","cell":"load-spike","schedule":["load-spike:at=40s,for=2s,factor=3"],"seed":4466838986402576708,"score":0.9,"class":"metastable","ttr_s":null,"error":null}],"summary":{"runs":1,"runs_to_first_metastable":1,"metastable_runs":1,"distinct_metastable_arms":1,"best_score":0.9,"errors":0,"cells":1,"arms":[]}}"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_a_reader(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        check_schedule(&text);
        check_incident(&text);
        check_csv(&text);
        check_policy(&text);
        let _ = Schedule::from_specs(&[text.as_ref()]);
    }

    #[test]
    fn arbitrary_yaml_trees_never_panic_a_reader(tree in yaml_tree()) {
        let text = serde_yaml::to_string(&tree).unwrap_or_default();
        check_schedule(&text);
        check_incident(&text);
        check_policy(&text);
    }

    #[test]
    fn valid_files_with_one_hostile_value_never_panic(pick in any::<usize>(), value in hostile_scalar()) {
        check_schedule(&replace_value(SCHEDULE, pick, &value));
        check_incident(&replace_value(INCIDENT, pick, &value));
        check_policy(&replace_value(POLICY, pick, &value));
        let csv: Vec<String> = CSV
            .lines()
            .enumerate()
            .map(|(i, line)| if i == 1 + pick % 5 { format!("{line}{value}") } else { line.to_string() })
            .collect();
        check_csv(&csv.join("\n"));
        let spec = format!("load-spike:at=60s,for={value},factor=3");
        let _ = Schedule::from_specs(&[spec]);
    }

    #[test]
    fn arbitrary_csv_never_panics(rows in prop::collection::vec(prop::collection::vec(hostile_scalar(), 0..4), 0..8)) {
        let mut text = String::from("time,offered,event\n");
        for row in rows {
            text += &row.join(",");
            text.push('\n');
        }
        check_csv(&text);
    }
}

proptest! {
    // Each case writes a file: fewer of them.
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_the_exploration_reader(tree in json_tree(), case in any::<u64>()) {
        check_shard(&tree.to_string(), case);
    }

    #[test]
    fn an_exploration_with_one_hostile_value_is_refused_or_read(field in 0usize..6, value in json_tree(), case in any::<u64>()) {
        let mut shard: serde_json::Value = serde_json::from_str(SHARD).unwrap();
        let slot = match field {
            0 => &mut shard["runs"][0]["score"],
            1 => &mut shard["runs"][0]["schedule"],
            2 => &mut shard["summary"]["best_score"],
            3 => &mut shard["shard"],
            4 => &mut shard["runs"][0]["class"],
            _ => &mut shard["set"],
        };
        *slot = value;
        check_shard(&shard.to_string(), case);
    }
}

#[test]
fn the_valid_inputs_the_mutations_start_from_are_valid() {
    Schedule::from_yaml(SCHEDULE, "s.yaml").unwrap();
    Incident::parse(INCIDENT, "i.yaml")
        .unwrap()
        .plan(&hormesis::registry::Registry::builtin(), &[] as &[&str])
        .unwrap();
    hormesis::policy::Policy::parse(POLICY, "p.yaml")
        .unwrap()
        .check(&[scenarios::find("retry-storm").unwrap()])
        .unwrap();
    let path = shard_file(SHARD, 0);
    merge::load(&path).unwrap();
    let scenario = scenarios::find("retry-storm").unwrap();
    import_timeline(
        CSV,
        "t.csv",
        scenario,
        &["server".to_string()],
        &Placement {
            at: Duration::from_secs(30),
            baseline: None,
        },
    )
    .unwrap();
}
