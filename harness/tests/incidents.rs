//! The incident lifecycle from the command line: record, replay, shrink,
//! import, and every kind of bad input (exit 2, with file, line and what is
//! allowed).

use hormesis::incident::Incident;
use hormesis::registry::Registry;
use hormesis::run;
use hormesis::shrink;
use hormesis::verdict::Class;
use hormesis_faults::{Event, Fault, Schedule};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn hormesis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1790000000")
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("incidents")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn replays_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("replays")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn record_then_replay_gives_the_same_digest_and_passes() {
    let dir = scratch("record");
    let file = dir.join("spike.yaml");
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--seed",
        "3",
        "--fault",
        "load-spike:at=40s,for=5s,factor=3",
        "--record",
        s(&file),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let incident = Incident::load(&file).unwrap();
    assert_eq!(incident.found.class, Class::Metastable);
    assert_eq!(incident.expect.class, Some(Class::Metastable));
    assert_eq!(incident.found.date, "2026-09-21T14:13:20Z");
    // The file round-trips through the parser unchanged.
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        Incident::parse(&written, "x").unwrap().to_yaml(),
        written,
        "to_yaml(parse(f)) == f"
    );

    let o = hormesis(&["replay", s(&file), "--strict"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains(&incident.id) && out.contains("same"), "{out}");

    // Recording again to the same name is refused before running, and the
    // file is left alone.
    let o = hormesis(&["run", "--scenario", "retry-storm", "--record", s(&file)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("already exists"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);
}

#[test]
fn the_replays_folder_passes_and_a_bad_policy_fails_by_name() {
    let dir = scratch("policy");
    let junit = dir.join("replays.xml");
    let o = hormesis(&["replay", s(&replays_dir()), "--junit", s(&junit)]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testcase") && !xml.contains("<failure"),
        "{xml}"
    );

    // A retry budget of 100% lets retries double the load again.
    let o = hormesis(&[
        "replay",
        s(&replays_dir()),
        "--set",
        "retry_budget.ratio=1",
        "--junit",
        s(&junit),
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    // Exactly the incidents whose recovery rests on the budget regress:
    // retry-storm's two (the default budget's and the tuned one's) and
    // call-chain's (whose front retries too).
    let mut failing: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("REGRESSION"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    failing.sort();
    assert_eq!(
        failing,
        [
            "call-chain-86cf657553",
            "retry-storm-cd170d468e",
            "retry-storm-f02e1494cc"
        ],
        "{out}"
    );
    assert!(out.contains("spike-retry-budget.yaml"), "{out}");
    assert!(out.contains("slowdown-tuned-retry-budget.yaml"), "{out}");
    assert!(
        out.contains("call-chain/trigger-retry-budget.yaml"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure").count(), 3, "{xml}");
}

#[test]
fn strict_fails_on_a_changed_digest_even_when_the_verdict_holds() {
    let original = replays_dir().join("retry-storm/spike-original.yaml");
    let o = hormesis(&["replay", s(&original), "--set", "rate=119"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("changed"), "{out}");
    let o = hormesis(&["replay", s(&original), "--set", "rate=119", "--strict"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn rerecord_rewrites_figures_of_passing_incidents_only() {
    let dir = scratch("rerecord");
    let kept = std::fs::read_to_string(replays_dir().join("retry-storm/spike.yaml")).unwrap();
    let recorded = Incident::load(&replays_dir().join("retry-storm/spike.yaml")).unwrap();
    let stale = kept.replace(&recorded.found.digest, &"0".repeat(64));
    std::fs::write(dir.join("stale.yaml"), &stale).unwrap();
    // A regression: the same trigger expected to recover.
    let wrong = stale.replace(
        "expect:\n  class: metastable",
        "expect:\n  recovers-within: 60s",
    );
    assert_ne!(wrong, stale);
    std::fs::write(dir.join("wrong.yaml"), &wrong).unwrap();

    let o = hormesis(&["replay", s(&dir), "--rerecord"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("ok (re-recorded)"), "{out}");
    let fixed = Incident::load(&dir.join("stale.yaml")).unwrap();
    assert_eq!(fixed.found.digest, recorded.found.digest);
    assert_eq!(fixed.id, recorded.id);
    assert_eq!(fixed.schedule, recorded.schedule);
    assert_eq!(fixed.expect, recorded.expect);
    assert_eq!(fixed.found.shrunk_from, recorded.found.shrunk_from);
    assert_eq!(
        std::fs::read_to_string(dir.join("wrong.yaml")).unwrap(),
        wrong
    );
    // Nothing left to re-record: the folder now replays strictly but for the regression.
    let o = hormesis(&["replay", s(&dir.join("stale.yaml")), "--strict"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

fn long_spike_incident() -> Incident {
    let schedule = Schedule::from_specs(&[
        "latency:at=35s,for=5s,host=client-1,delay=50ms",
        "load-spike:at=40s,for=20s,factor=3",
        "knob:at=45s,for=5s,knob=service-time,value=60",
        "loss:at=50s,for=4s,between=client-2|server,rate=0.01",
    ])
    .unwrap();
    let scenario = hormesis::scenarios::find("retry-storm").unwrap();
    let plan = run::RunPlan::of(scenario)
        .schedule(schedule)
        .located("test", None)
        .seed(11)
        .engine(hormesis::engine::EngineKind::Turmoil)
        .build()
        .unwrap();
    let report = run::run(&plan).unwrap();
    assert_eq!(report.verdict.class, Class::Metastable);
    Incident::from_report(
        &report,
        "test".into(),
        "today".into(),
        hormesis::incident::Expect::observed(&report.verdict),
    )
}

#[test]
fn shrinking_a_long_spike_incident_ends_with_one_event_no_longer_than_needed() {
    let incident = long_spike_incident();
    let mut steps = Vec::new();
    let shrunk = shrink::shrink(
        &Registry::builtin(),
        &incident,
        "t".into(),
        "today".into(),
        &mut |l| steps.push(l.to_string()),
    )
    .unwrap();
    let events = &shrunk.incident.schedule.events;
    assert_eq!(events.len(), 1, "{steps:#?}");
    let Fault::LoadSpike { factor } = events[0].fault else {
        panic!("the spike is what tips it: {steps:#?}");
    };
    let d = events[0].duration.unwrap();
    assert!(d < Duration::from_secs(20) && factor <= 3.0, "{steps:#?}");
    assert_eq!(
        shrunk.incident.found.shrunk_from.as_deref(),
        Some(incident.id.as_str())
    );
    assert_eq!(shrunk.incident.expect.class, Some(Class::Metastable));

    // No longer than needed: one step (1 s, or 100 ms under 2 s) shorter recovers.
    let step = if d >= Duration::from_secs(2) {
        Duration::from_secs(1)
    } else {
        Duration::from_millis(100)
    };
    let shorter = Schedule::new(vec![Event::new(
        events[0].at,
        Some(d - step),
        events[0].fault.clone(),
    )]);
    let mut probe = shrunk.incident.clone();
    probe.schedule = shorter;
    let report = run::run(&probe.plan(&Registry::builtin(), &[] as &[&str]).unwrap()).unwrap();
    assert_ne!(report.verdict.class, Class::Metastable, "{steps:#?}");

    // Deterministic: the same incident shrinks to the same file contents.
    let again = shrink::shrink(
        &Registry::builtin(),
        &incident,
        "t".into(),
        "today".into(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(again.incident.to_yaml(), shrunk.incident.to_yaml());
}

#[test]
fn shrink_writes_beside_the_input_and_refuses_a_stable_incident() {
    let dir = scratch("shrink");
    let file = dir.join("stable.yaml");
    let o = hormesis(&[
        "run",
        "--scenario",
        "retry-storm",
        "--fault",
        "load-spike:at=40s,for=2s,factor=1.5",
        "--record",
        s(&file),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = hormesis(&["shrink", s(&file)]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("not metastable") && out.contains("seed 1"),
        "{out}"
    );
    assert!(!dir.join("stable.shrunk.yaml").exists());
}

#[test]
fn import_turns_a_timeline_into_a_replayable_incident() {
    let dir = scratch("import");
    let out_file = dir.join("outage.yaml");
    let csv = replays_dir().join("imported/checkout-outage.csv");
    let o = hormesis(&[
        "import",
        s(&csv),
        "--scenario",
        "retry-storm",
        "-o",
        s(&out_file),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let incident = Incident::load(&out_file).unwrap();
    let kinds: Vec<&str> = incident
        .schedule
        .events
        .iter()
        .map(|e| e.fault.kind().name())
        .collect();
    assert_eq!(kinds, ["load-profile", "crash", "knob"]);
    // The same inputs as the incident kept in replays/imported/.
    let kept = Incident::load(&replays_dir().join("imported/checkout-outage.yaml")).unwrap();
    assert_eq!(incident.id, kept.id);
    assert_eq!(incident.found.digest, kept.found.digest);

    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "time,offered,event\n0,100,\n5,120,meteor-strike\n").unwrap();
    let o = hormesis(&[
        "import",
        s(&bad),
        "--scenario",
        "retry-storm",
        "-o",
        s(&dir.join("bad.yaml")),
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("bad.csv:3: unknown event `meteor-strike`; allowed: node-down"),
        "{out}"
    );
    assert!(!dir.join("bad.yaml").exists());
}

/// A valid incident's text, to break in one place at a time.
fn valid_text() -> String {
    std::fs::read_to_string(replays_dir().join("retry-storm/spike.yaml")).unwrap()
}

#[test]
fn bad_incidents_exit_2_naming_file_line_and_what_is_allowed() {
    let dir = scratch("bad");
    let good = valid_text();
    let line_of = |needle: &str| {
        good.lines()
            .position(|l| l.starts_with(needle))
            .map(|i| i + 1)
            .unwrap()
    };
    let cases: Vec<(&str, String, String)> = vec![
        (
            "malformed",
            good.replace("scenario: retry-storm", "scenario: [retry-storm"),
            "not valid YAML".into(),
        ),
        (
            "missing",
            good.replace("seed: 7\n", ""),
            "missing field `seed`".into(),
        ),
        (
            "scenario",
            good.replace("scenario: retry-storm", "scenario: retry-hurricane"),
            format!(
                ":{}: unknown scenario `retry-hurricane`; known scenarios: retry-storm",
                line_of("scenario:")
            ),
        ),
        (
            "fault",
            good.replace("fault: load-spike", "fault: meteor"),
            format!(
                ":{}: event 1 (meteor): unknown fault kind `meteor`; allowed: partition",
                line_of("      fault:")
            ),
        ),
        (
            "param",
            good.replace("  workers: 8", "  wrokers: 8"),
            format!(
                ":{}: `retry-storm` has no parameter `wrokers`; allowed: rate, clients,",
                line_of("  workers:")
            ),
        ),
        (
            "version",
            good.replace("version: 1\nid:", "version: 2\nid:"),
            ": incident version 2 is newer than this build".into(),
        ),
        (
            "host",
            good.replace(
                "      factor: 2.5",
                "      factor: 2.5\n    - at: 41s\n      for: 1s\n      fault: crash\n      host: database",
            ),
            "event 2 (crash): unknown host `database`; allowed: server".into(),
        ),
        (
            "knob",
            good.replace(
                "      factor: 2.5",
                "      factor: 2.5\n    - at: 41s\n      fault: knob\n      knob: cache-flush",
            ),
            "unknown knob `cache-flush`".into(),
        ),
        (
            "not-yaml",
            "\u{0}\u{1}binary junk: [\n".into(),
            "not valid YAML".into(),
        ),
        (
            "prose",
            "Dear on-call, the checkout service fell over again.\n".into(),
            "an incident is a YAML mapping".into(),
        ),
        (
            "expect",
            good.replace("expect:\n  class: metastable", "expect:\n  colour: red"),
            "unknown field `colour`, expected one of `class`, `recovers-within`, `max-score`"
                .into(),
        ),
    ];
    for (name, content, needle) in cases {
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, &content).unwrap();
        let o = hormesis(&["replay", s(&file)]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {out}");
        assert!(out.contains(s(&file)), "{name}: no file name in {out}");
        assert!(
            out.contains(&needle),
            "{name}: expected `{needle}` in {out}"
        );
    }

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = hormesis(&["replay", s(&empty)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no incident files"), "{}", text(&o));

    let o = hormesis(&["replay", s(&dir.join("nowhere.yaml"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no such file"), "{}", text(&o));

    let o = hormesis(&[
        "replay",
        s(&replays_dir().join("retry-storm/spike.yaml")),
        "--set",
        "colour=red",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("no incident's scenario has this parameter"),
        "{}",
        text(&o)
    );
}

/// A compound trigger (warm-cache: a slow database while an outage's keys
/// refill; neither alone tips) is recorded, shrinks to a schedule that
/// keeps both faults, and the shrunk incident replays.
#[test]
fn a_compound_incident_shrinks_keeping_both_faults_and_replays() {
    let dir = scratch("compound");
    let file = dir.join("compound.yaml");
    let o = hormesis(&[
        "run",
        "--scenario",
        "warm-cache",
        "--fault",
        "knob:at=60s,for=30s,knob=db-service-time,value=110",
        "--fault",
        "latency:at=60s,for=20s,host=database,delay=1s",
        "--record",
        s(&file),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    for alone in [
        "knob:at=60s,for=30s,knob=db-service-time,value=110",
        "latency:at=60s,for=20s,host=database,delay=1s",
    ] {
        let o = hormesis(&["run", "--scenario", "warm-cache", "--fault", alone]);
        assert_eq!(o.status.code(), Some(0), "{alone} alone: {}", text(&o));
    }
    let shrunk = dir.join("shrunk.yaml");
    let o = hormesis(&["shrink", s(&file), "-o", s(&shrunk)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let incident = Incident::load(&shrunk).unwrap();
    assert_eq!(incident.schedule.events.len(), 2, "{}", text(&o));
    assert_eq!(incident.found.class, Class::Metastable);
    let o = hormesis(&["replay", s(&shrunk), "--strict"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// Incidents record turmoil's step they were found at; a replay at another
/// step says so.
#[test]
fn incidents_record_the_tick_they_were_found_at() {
    let incident = long_spike_incident();
    assert_eq!(incident.found.tick, Some(Duration::from_millis(10)));
    let yaml = incident.to_yaml();
    assert!(yaml.contains("\n  tick: 10ms\n"), "{yaml}");
    let back = Incident::parse(&yaml, "t.yaml").unwrap();
    assert_eq!(back.found.tick, incident.found.tick);
    assert_eq!(back.to_yaml(), yaml);

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("incident-tick");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let coarser = dir.join("coarser.yaml");
    std::fs::write(
        &coarser,
        yaml.replace("\n  tick: 10ms\n", "\n  tick: 20ms\n"),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hormesis"))
        .arg("replay")
        .arg(&coarser)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("note: found at a 20ms step, replayed at 10ms"),
        "{out}"
    );
}
