use hormesis_faults::{
    strategy, Event, Fault, KnobKind, KnobSpec, Schedule, ScheduleError, Target,
};
use proptest::prelude::*;
use std::time::Duration;

fn target() -> Target {
    Target {
        hosts: vec!["server".into(), "cache".into()],
        clients: vec!["client-1".into(), "client-2".into()],
        knobs: vec![
            KnobSpec {
                name: "cache-flush".into(),
                kind: KnobKind::Action,
                help: String::new(),
            },
            KnobSpec {
                name: "service-time".into(),
                kind: KnobKind::Value {
                    min: 1.0,
                    max: 500.0,
                    default: 20.0,
                },
                help: String::new(),
            },
        ],
        latest_end: Duration::from_secs(300),
    }
}

const DESIGN_EXAMPLE: &str = "\
version: 1
events:
  - at: 60s
    for: 10s
    fault: load-spike
    factor: 3
  - at: 65s
    for: 5s
    fault: partition
    between: [[server], [client-1, client-2]]
  - at: 80s
    fault: knob
    knob: cache-flush
";

#[test]
fn the_design_example_parses_and_validates() {
    let s = Schedule::from_yaml(DESIGN_EXAMPLE, "example.yaml").unwrap();
    assert_eq!(s.events.len(), 3);
    assert_eq!(s.events[0].fault, Fault::LoadSpike { factor: 3.0 });
    assert_eq!(s.trigger_end(), Some(Duration::from_secs(80)));
    assert_eq!(s.first_onset(), Some(Duration::from_secs(60)));
    s.check(&target(), "example.yaml", Some(DESIGN_EXAMPLE))
        .unwrap();
    assert_eq!(
        s.events[1].to_string(),
        "partition:at=65s,for=5s,between=server|client-1+client-2"
    );
}

fn err(yaml: &str) -> ScheduleError {
    match Schedule::from_yaml(yaml, "bad.yaml") {
        Err(e) => e,
        Ok(s) => s.check(&target(), "bad.yaml", Some(yaml)).unwrap_err(),
    }
}

#[test]
fn an_unknown_kind_names_file_line_and_allowed_kinds() {
    let e = err("version: 1\nevents:\n  - at: 1s\n    for: 1s\n    fault: load-spike\n    factor: 2\n  - at: 5s\n    fault: meteor\n");
    let text = e.to_string();
    assert_eq!(e.line(), Some(8), "{text}");
    assert!(text.starts_with("bad.yaml:8: event 2"), "{text}");
    assert!(text.contains("unknown fault kind `meteor`"), "{text}");
    assert!(
        text.contains(
            "partition, latency, loss, hold, crash, load-spike, load-step, load-profile, knob"
        ),
        "{text}"
    );
}

#[test]
fn unknown_hosts_and_knobs_list_what_is_allowed() {
    let e =
        err("version: 1\nevents:\n  - at: 1s\n    for: 2s\n    fault: crash\n    host: databse\n");
    assert_eq!(e.line(), Some(6));
    assert!(
        e.to_string()
            .contains("unknown host `databse`; allowed: server, cache, client-1, client-2"),
        "{e}"
    );

    let e = err("version: 1\nevents:\n  - at: 1s\n    fault: knob\n    knob: cach-flush\n");
    assert_eq!(e.line(), Some(5));
    assert!(
        e.to_string().contains("allowed: cache-flush, service-time"),
        "{e}"
    );
}

#[test]
fn bad_durations_and_values_are_rejected_with_their_line() {
    for (yaml, line, needle) in [
        ("version: 1\nevents:\n  - at: -5s\n    for: 1s\n    fault: load-spike\n    factor: 2\n", 3, "negative"),
        ("version: 1\nevents:\n  - at: 5s\n    for: 0s\n    fault: load-spike\n    factor: 2\n", 4, "more than 0s"),
        ("version: 1\nevents:\n  - at: 5s\n    fault: load-spike\n    factor: 2\n", 3, "needs `for`"),
        ("version: 1\nevents:\n  - at: 5s\n    for: 1s\n    fault: load-spike\n    factr: 2\n", 6, "unknown key `factr`"),
        ("version: 1\nevents:\n  - at: 5s\n    for: 1s\n    fault: loss\n    host: server\n    rate: 1.5\n", 7, "(0, 1]"),
        ("version: 1\nevents:\n  - at: 299s\n    for: 5s\n    fault: load-spike\n    factor: 2\n", 4, "past the run's end"),
        ("version: 1\nevents:\n  - at: 5s\n    for: 5s\n    fault: crash\n    host: client-1\n", 6, "cannot crash"),
        ("version: 1\nevents:\n  - at: 5s\n    fault: knob\n    knob: service-time\n    value: 9000\n", 6, "[1, 500]"),
    ] {
        let e = err(yaml);
        assert_eq!(e.line(), Some(line), "{e}");
        assert!(e.to_string().contains(needle), "expected `{needle}` in: {e}");
    }
}

#[test]
fn overlapping_events_that_cannot_apply_are_rejected() {
    let e = err("version: 1\nevents:\n  - at: 5s\n    for: 10s\n    fault: crash\n    host: server\n  - at: 8s\n    for: 1s\n    fault: crash\n    host: server\n");
    assert_eq!(e.line(), Some(7));
    assert!(
        e.to_string()
            .contains("while event 1 (crash at 5s) has it down"),
        "{e}"
    );

    let e = err("version: 1\nevents:\n  - at: 5s\n    for: 10s\n    fault: partition\n    between: [[server], [client-1]]\n  - at: 8s\n    for: 10s\n    fault: hold\n    between: [[client-1, client-2], [server]]\n");
    assert!(e.to_string().contains("client-1–server"), "{e}");

    // Latency and loss on one link compose; disjoint links never conflict.
    let ok = "version: 1\nevents:\n  - at: 5s\n    for: 10s\n    fault: latency\n    host: server\n    delay: 50ms\n  - at: 8s\n    for: 10s\n    fault: loss\n    between: [[server], [client-1]]\n    rate: 0.1\n";
    Schedule::from_yaml(ok, "ok.yaml")
        .unwrap()
        .check(&target(), "ok.yaml", Some(ok))
        .unwrap();
}

#[test]
fn version_garbage_and_shape_errors() {
    let e = err("version: 7\nevents: []\n");
    assert!(
        e.to_string()
            .contains("version 7 is not supported; this build reads version 1"),
        "{e}"
    );
    assert_eq!(e.line(), Some(1));
    let e = err("version: 1\nevents: [\n");
    assert!(e.to_string().contains("not valid YAML"), "{e}");
    assert!(e.line().is_some());
    let e = err("version: 1\nevnts: []\n");
    assert!(e.to_string().contains("unknown key `evnts`"), "{e}");
    assert_eq!(e.line(), Some(2));
}

#[test]
fn inline_specs_reject_bad_input() {
    for (spec, needle) in [
        ("load-spike", "expected `kind:key=value"),
        ("load-spike:at=1s,for=1s,factor", "not `key=value`"),
        ("meteor:at=1s", "unknown fault kind"),
        ("load-spike:at=1s,for=1s,factor=lots", "must be a number"),
        ("partition:at=1s,for=1s,between=server", "two host groups"),
        ("load-profile:at=1s,for=10s", "needs `points`"),
        ("load-profile:at=1s,for=10s,points=1s+2", "offset 0s"),
        (
            "load-profile:at=1s,for=10s,points=0s+2|0s+3",
            "must increase",
        ),
        ("load-profile:at=1s,for=10s,points=0s+2|10s+3", "not inside"),
        ("load-profile:at=1s,for=10s,points=0s+x", "not a number"),
        ("load-profile:at=1s,for=10s,points=0s+-1", "[0, 1000]"),
    ] {
        let e = Event::from_spec(spec).unwrap_err().to_string();
        assert!(e.contains(needle), "expected `{needle}` in: {e}");
    }
}

#[test]
fn load_profiles_round_trip_through_both_forms() {
    for spec in [
        "load-profile:at=30s,for=20s,points=0s+1",
        "load-profile:at=30s,for=20s,points=0s+1.5|5s+0|12s+3",
    ] {
        let event = Event::from_spec(spec).unwrap();
        assert_eq!(event.to_spec(), spec);
        let schedule = Schedule::new(vec![event]);
        assert_eq!(
            Schedule::from_yaml(&schedule.to_yaml(), "t").unwrap(),
            schedule
        );
    }
    let yaml = "version: 1\nevents:\n  - at: 30s\n    for: 20s\n    fault: load-profile\n    points: [[0s, 1], [10s, 2.5]]\n";
    assert_eq!(
        Schedule::from_yaml(yaml, "t").unwrap().events[0].to_spec(),
        "load-profile:at=30s,for=20s,points=0s+1|10s+2.5"
    );
}

proptest! {
    #[test]
    fn generated_schedules_validate(s in strategy::schedule(&target(), 6)) {
        prop_assert!(s.validate(&target()).is_ok(), "{:?}", s.validate(&target()));
    }

    #[test]
    fn yaml_round_trips(s in strategy::schedule(&target(), 6)) {
        let yaml = s.to_yaml();
        let back = Schedule::from_yaml(&yaml, "gen.yaml").unwrap();
        prop_assert_eq!(&back, &s, "{}", yaml);
        // Line lookup finds every event of what we write.
        prop_assert!(back.check(&target(), "gen.yaml", Some(&yaml)).is_ok());
    }

    #[test]
    fn inline_specs_round_trip(s in strategy::schedule(&target(), 6)) {
        let specs: Vec<String> = s.events.iter().map(|e| e.to_spec()).collect();
        prop_assert_eq!(Schedule::from_specs(&specs).unwrap(), s);
    }
}
