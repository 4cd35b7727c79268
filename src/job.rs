//! The shape of long work in the page: each run gets a [`Ticket`] from its view's
//! [`Generation`]; starting another run, or cancelling, makes every older ticket stale, and
//! work that finds its ticket stale stops and writes nothing more. One type for what each
//! view once counted by hand, so that "cancel", "a newer run supersedes this one" and "this
//! result is late" mean the same everywhere.

use leptos::prelude::*;

/// A run's claim on its view: valid until the view starts another run or cancels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// A view's run counter (a `Copy` handle, shared by the view's components and its tasks).
#[derive(Debug, Clone, Copy)]
pub struct Generation(StoredValue<u64>);

impl Default for Generation {
    fn default() -> Self {
        Generation::new()
    }
}

impl Generation {
    /// A counter with no run yet.
    pub fn new() -> Generation {
        Generation(StoredValue::new(0))
    }

    /// Starts a run: every older ticket becomes stale.
    pub fn begin(&self) -> Ticket {
        self.0.update_value(|g| *g += 1);
        Ticket(self.0.get_value())
    }

    /// Cancels the run under way (its ticket becomes stale) without starting another.
    pub fn cancel(&self) {
        self.0.update_value(|g| *g += 1);
    }

    /// The ticket of the latest run (to tell whether a run started since).
    pub fn current(&self) -> Ticket {
        Ticket(self.0.get_value())
    }

    /// Whether `ticket` is still the latest run's.
    pub fn is_current(&self, ticket: Ticket) -> bool {
        self.0.get_value() == ticket.0
    }

    /// Whether `ticket` was superseded or cancelled.
    pub fn is_stale(&self, ticket: Ticket) -> bool {
        !self.is_current(ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_run_or_a_cancel_makes_older_tickets_stale() {
        let owner = Owner::new();
        owner.with(|| {
            let g = Generation::new();
            let first = g.begin();
            assert!(g.is_current(first));
            let second = g.begin();
            assert!(g.is_stale(first) && g.is_current(second));
            assert_eq!(g.current(), second);
            g.cancel();
            assert!(g.is_stale(second));
            let third = g.begin();
            assert!(g.is_current(third) && third != second);
        });
    }
}
