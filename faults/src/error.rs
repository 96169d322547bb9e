use std::fmt;

/// What is wrong with one key of one event, before it is placed in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The key at fault, when one key is at fault.
    pub key: Option<String>,
    /// What is wrong, and what is allowed.
    pub message: String,
}

impl FieldError {
    /// An error in the value of `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// An error in the event as a whole (a missing key, keys that clash).
    pub fn whole(message: impl Into<String>) -> Self {
        FieldError {
            key: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A schedule that cannot be used, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The text is not YAML, or not shaped like a schedule.
    #[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Syntax {
        /// The file (or `--fault`, or the command-line source) it came from.
        origin: String,
        /// The line in `origin`, 1-based, where the input says it.
        line: Option<usize>,
        /// What the parser found.
        message: String,
    },
    /// The schedule's `version` is one this build does not read.
    #[error("{origin}{}: schedule version {found} is not supported; this build reads version {supported}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Version {
        /// The file it came from.
        origin: String,
        /// The line of the `version` key.
        line: Option<usize>,
        /// The version the file declares.
        found: u64,
        /// The version this build reads and writes.
        supported: u64,
    },
    /// One event is wrong (unknown kind, bad value, unknown host or knob, ...).
    #[error("{origin}{}: event {} ({kind}): {message}", line.map(|l| format!(":{l}")).unwrap_or_default(), index + 1)]
    Event {
        /// The file it came from.
        origin: String,
        /// The line of the offending key, else of the event.
        line: Option<usize>,
        /// Zero-based position in the schedule.
        index: usize,
        /// The event's `fault` kind as written.
        kind: String,
        /// What is wrong, and what is allowed.
        message: String,
    },
    /// An inline `--fault` spec that does not parse.
    #[error("--fault '{spec}': {message}")]
    Spec {
        /// The spec as given.
        spec: String,
        /// What is wrong, and what is allowed.
        message: String,
    },
}

impl ScheduleError {
    /// The same error for a schedule embedded in a larger file: `origin`
    /// becomes that file, and lines move down by `offset`.
    pub fn embedded_in(self, file: &str, offset: usize) -> ScheduleError {
        let shift = |line: Option<usize>| line.map(|l| l + offset);
        match self {
            ScheduleError::Syntax { line, message, .. } => ScheduleError::Syntax {
                origin: file.to_string(),
                line: shift(line),
                message,
            },
            ScheduleError::Version {
                line,
                found,
                supported,
                ..
            } => ScheduleError::Version {
                origin: file.to_string(),
                line: shift(line),
                found,
                supported,
            },
            ScheduleError::Event {
                line,
                index,
                kind,
                message,
                ..
            } => ScheduleError::Event {
                origin: file.to_string(),
                line: shift(line),
                index,
                kind,
                message,
            },
            spec @ ScheduleError::Spec { .. } => spec,
        }
    }

    /// The line in the source file, when the error has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ScheduleError::Syntax { line, .. }
            | ScheduleError::Version { line, .. }
            | ScheduleError::Event { line, .. } => *line,
            ScheduleError::Spec { .. } => None,
        }
    }
}
