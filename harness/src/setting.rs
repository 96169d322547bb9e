//! A setting of a library configuration outside what it allows.
//!
//! The library's configurations ([`crate::explore::ExploreConfig`],
//! [`crate::map::MapConfig`], [`crate::sweep::SweepConfig`],
//! [`crate::tune::TuneConfig`]) are filled by the command line and by
//! users' own code alike, so a refused value is named by its field, not by
//! a flag; the command line words it as the flag that set it
//! ([`BadSetting::as_flag`]).

use std::fmt::Display;

/// One setting refused, with what it may be instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} {value}: {allowed}")]
pub struct BadSetting {
    /// The configuration's field, e.g. `seeds`, `shard`, `cost_seeds`.
    pub setting: &'static str,
    /// The value given, as it reads.
    pub value: String,
    /// What the setting allows, or why this value cannot be, in words.
    pub allowed: String,
}

impl BadSetting {
    /// `setting` was `value`, which is not what it `allowed`.
    pub fn new(setting: &'static str, value: impl Display, allowed: impl Into<String>) -> Self {
        BadSetting {
            setting,
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }

    /// The message as a command-line user reads it: the field as its flag
    /// (`cost_seeds` is `--cost-seeds`).
    ///
    /// ```
    /// use hormesis::setting::BadSetting;
    /// let e = BadSetting::new("cost_seeds", 0, "1 to 64");
    /// assert_eq!(e.to_string(), "cost_seeds 0: 1 to 64");
    /// assert_eq!(e.as_flag(), "--cost-seeds 0: 1 to 64");
    /// ```
    pub fn as_flag(&self) -> String {
        format!(
            "--{} {}: {}",
            self.setting.replace('_', "-"),
            self.value,
            self.allowed
        )
    }
}
