//! The fault vocabulary of hormesis.
//!
//! A [`Schedule`] is a list of timed [`Event`]s, each carrying a typed
//! [`Fault`]. Schedules have two textual forms that round-trip exactly:
//!
//! * a YAML file (`version: 1`, `events: [...]`), see [`Schedule::from_yaml`];
//! * the inline `--fault` form, `kind:key=value,...`, see [`Event::from_spec`].
//!
//! A schedule is checked against the [`Target`] it will hit (hosts, clients,
//! knobs, how late a trigger may end) by [`Schedule::validate`]; errors name
//! the event, the offending key and what is allowed.
//!
//! ```
//! use hormesis_faults::{Event, Schedule};
//!
//! let event = Event::from_spec("load-spike:at=60s,for=10s,factor=3").unwrap();
//! assert_eq!(event.to_string(), "load-spike:at=60s,for=10s,factor=3");
//!
//! let schedule = Schedule::new(vec![event]);
//! let yaml = schedule.to_yaml();
//! assert_eq!(Schedule::from_yaml(&yaml, "inline").unwrap(), schedule);
//! assert_eq!(schedule.trigger_end().unwrap().as_secs(), 70);
//! ```
//!
//! This crate knows nothing of engines or scenarios: a fault refers to what it
//! hits only by host and knob names.

#![warn(missing_docs)]

mod duration;
mod error;
mod fault;
mod raw;
mod schedule;
pub mod space;
pub mod strategy;
mod validate;

pub use duration::{format_duration, parse_duration, MAX_DURATION};
pub use error::{FieldError, ScheduleError};
pub use fault::{Fault, FaultKind, HostGroups, LinkTarget};
pub use schedule::{
    too_deep, yaml_error_line, yaml_scalar, Event, Schedule, MAX_YAML_NESTING, SCHEDULE_VERSION,
};
pub use validate::{KnobKind, KnobSpec, Target, MAX_EVENTS, MAX_LOAD_PRODUCT};
