//! Turns panics inside simulated hosts into findings that name the host,
//! instead of noise on stderr: while a simulation steps on this thread, the
//! panic hook records the first panic's message and the id of the tokio
//! runtime it happened on; the engine maps runtime ids to host names.

use std::cell::RefCell;
use std::sync::Once;

/// The first panic seen since the last [`take`].
#[derive(Debug, Clone)]
pub struct Caught {
    pub message: String,
    /// The tokio runtime the panic happened on (each simulated host has its own).
    #[cfg_attr(madsim, allow(dead_code))]
    pub runtime: Option<String>,
    /// The simulated time it happened at, when the log clock knew it.
    #[cfg_attr(not(madsim), allow(dead_code))]
    pub at: Option<std::time::Duration>,
}

thread_local! {
    static ACTIVE: RefCell<u32> = const { RefCell::new(0) };
    static FIRST: RefCell<Option<Caught>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// The id of the tokio runtime this code runs on, if any.
#[cfg(not(madsim))]
pub fn runtime_id() -> Option<String> {
    tokio::runtime::Handle::try_current()
        .ok()
        .map(|h| h.id().to_string())
}

/// madsim runs every host on one runtime: no id tells hosts apart.
#[cfg(madsim)]
pub fn runtime_id() -> Option<String> {
    None
}

/// Captures panics on this thread while alive.
pub struct Capture(());

impl Capture {
    pub fn start() -> Capture {
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if ACTIVE.with(|a| *a.borrow()) == 0 {
                    return previous(info);
                }
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let text = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic with no message".to_string());
                FIRST.with(|f| {
                    f.borrow_mut().get_or_insert(Caught {
                        message: format!("panicked{location}: {text}"),
                        runtime: runtime_id(),
                        at: crate::log::sim_now(),
                    });
                });
            }));
        });
        ACTIVE.with(|a| *a.borrow_mut() += 1);
        Capture(())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        ACTIVE.with(|a| *a.borrow_mut() -= 1);
    }
}

/// Records why a host stopped when no panic did, for the next [`take`].
#[cfg(not(madsim))]
pub fn note(message: String) {
    FIRST.with(|f| {
        f.borrow_mut().get_or_insert(Caught {
            message,
            runtime: None,
            at: None,
        });
    });
}

pub fn take() -> Option<Caught> {
    FIRST.with(|f| f.borrow_mut().take())
}

/// The message of a caught panic payload, when the hook saw none.
pub fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".to_string())
}
