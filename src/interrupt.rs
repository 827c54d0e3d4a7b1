//! SIGINT and SIGTERM (Ctrl-C, a CI timeout): the first asks the run to
//! take no new pair and to write its reports for what finished; a second of
//! either ends the process at once, for a user who does not want to wait
//! for the pairs in flight.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use signal_hook::consts::{SIGINT, SIGTERM};

/// The first of SIGINT and SIGTERM received, if any.
pub struct Interrupt {
    signal: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Installs the handlers.
    pub fn watch() -> anyhow::Result<Self> {
        let signal = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(AtomicBool::new(false));
        for number in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as the signal before
            // this one left it: set means this is the second.
            signal_hook::flag::register_conditional_shutdown(number, 128 + number, seen.clone())
                .and_then(|_| signal_hook::flag::register(number, seen.clone()))
                .and_then(|_| {
                    signal_hook::flag::register_usize(number, signal.clone(), number as usize)
                })
                .context("cannot install the interrupt handlers")?;
        }
        Ok(Self { signal })
    }

    /// The signal's number once one arrived.
    pub fn received(&self) -> Option<i32> {
        match self.signal.load(Ordering::Relaxed) {
            0 => None,
            number => Some(number as i32),
        }
    }

    /// The exit status of a run ended by the signal: 128 + its number, as
    /// a shell reports it (130 for SIGINT, 143 for SIGTERM).
    pub fn exit_status(&self) -> Option<u8> {
        self.received().map(|number| (128 + number) as u8)
    }
}
