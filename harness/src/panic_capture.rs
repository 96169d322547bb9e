//! Turns panics inside simulated hosts into findings with their message,
//! instead of noise on stderr: while a simulation runs on this thread, the
//! panic hook records the message for the engine to report.

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    static ACTIVE: RefCell<u32> = const { RefCell::new(0) };
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// Captures panics on this thread while alive.
pub struct Capture(());

impl Capture {
    pub fn start() -> Capture {
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if ACTIVE.with(|a| *a.borrow()) > 0 {
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
                    note(format!("panicked{location}: {text}"));
                } else {
                    previous(info);
                }
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

/// Records why a host stopped, for the next [`take`].
pub fn note(message: String) {
    LAST.with(|l| *l.borrow_mut() = Some(message));
}

pub fn take() -> Option<String> {
    LAST.with(|l| l.borrow_mut().take())
}

/// The message of a caught panic payload (or the last one noted).
pub fn message(payload: &(dyn std::any::Any + Send)) -> String {
    take()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".to_string())
}
