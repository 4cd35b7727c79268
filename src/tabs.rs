//! One tab at a time for a run kept in browser storage (issue 18, item 3).
//!
//! Tabs of one browser share its storage, so two tabs opened on the same link would both go on
//! from the same kept run (each at half speed, and cancelling in one would not stop the other).
//! A run is therefore owned: its owner writes `memgen-owner:<run key>` = `{"tab", "at"}` when it
//! starts and again every [`HEARTBEAT_MS`] while it runs. Another tab that finds a fresh record
//! (younger than [`STALE_MS`]: the owner is alive) does not start; it says so and offers to take
//! over, which writes its own record. The owner reads the record at every heartbeat and stops
//! when another tab's is there. A record of a closed tab goes stale and is taken silently.
//!
//! Storage that refuses the record (full or unavailable) cannot coordinate tabs: the run then
//! goes on, as it does without storage.

use serde::{Deserialize, Serialize};

/// How often the owner renews its record, in ms.
pub const HEARTBEAT_MS: f64 = 1_000.0;
/// A record older than this is of a tab that is gone, in ms.
pub const STALE_MS: f64 = 5_000.0;
/// The browser-storage key prefix of owner records.
pub const OWNER_PREFIX: &str = "memgen-owner:";

/// Who owns a run: a tab's id and when it last said so (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub tab: String,
    pub at: f64,
}

/// What a tab may do with a run, given its owner record.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// No live owner, or this tab: run it.
    Mine,
    /// Another tab renewed its record `age_ms` ago.
    Elsewhere { age_ms: f64 },
}

/// The verdict for tab `me` at time `now` (ms since the epoch) on the stored record `record`
/// (`None`: no record; an unreadable record counts as none).
pub fn verdict(record: Option<&str>, me: &str, now: f64) -> Verdict {
    match record.and_then(|r| serde_json::from_str::<Owner>(r).ok()) {
        Some(o) if o.tab != me && (now - o.at) < STALE_MS && o.at <= now + STALE_MS => Verdict::Elsewhere { age_ms: (now - o.at).max(0.0) },
        _ => Verdict::Mine,
    }
}

/// The record tab `me` writes at `now`.
pub fn record(me: &str, now: f64) -> String {
    serde_json::to_string(&Owner { tab: me.to_string(), at: now }).unwrap_or_default()
}

/// The owner key of run `key`.
pub fn owner_key(key: &str) -> String {
    format!("{OWNER_PREFIX}{key}")
}

/// The page's side: this tab's id and its claims (browser storage; natively these compile but
/// are not called).
mod page {
    use super::*;
    use crate::browser::{storage_get, storage_remove, storage_set};
    use std::cell::OnceCell;

    /// The session-storage key of this tab's id.
    const TAB_KEY: &str = "memgen-tab-id";

    thread_local! {
        static TAB: OnceCell<String> = const { OnceCell::new() };
    }

    /// This tab's id: kept in the tab's session storage, so a reload is the same tab (and goes on
    /// with its own run) while another tab has its own. Drawn once (not an experiment's
    /// randomness: it only tells tabs apart).
    pub fn tab_id() -> String {
        TAB.with(|t| {
            t.get_or_init(|| {
                let session = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
                if let Some(id) = session.as_ref().and_then(|s| s.get_item(TAB_KEY).ok().flatten()) {
                    return id;
                }
                let id = format!("{:016x}", (js_sys::Math::random() * 2f64.powi(53)) as u64);
                if let Some(s) = session {
                    let _ = s.set_item(TAB_KEY, &id);
                }
                id
            })
            .clone()
        })
    }

    fn now() -> f64 {
        js_sys::Date::now()
    }

    /// This tab's claim on a run.
    pub struct Claim {
        key: String,
        renewed: f64,
    }

    impl Claim {
        /// Claims run `key` unless another live tab holds it (`Err` with how long ago it said
        /// so); `take_over` claims it whatever the record says.
        pub fn new(key: &str, take_over: bool) -> Result<Claim, f64> {
            let key = owner_key(key);
            if !take_over {
                if let Verdict::Elsewhere { age_ms } = verdict(storage_get(&key).ok().flatten().as_deref(), &tab_id(), now()) {
                    return Err(age_ms);
                }
            }
            let _ = storage_set(&key, &record(&tab_id(), now()));
            Ok(Claim { key, renewed: now() })
        }

        /// Renews the record every [`HEARTBEAT_MS`]; `false` once another tab has taken the
        /// run over.
        pub fn still_mine(&mut self) -> bool {
            let t = now();
            if t - self.renewed < HEARTBEAT_MS {
                return true;
            }
            let rec = storage_get(&self.key).ok().flatten();
            if let Some(Ok(o)) = rec.as_deref().map(serde_json::from_str::<Owner>) {
                if o.tab != tab_id() {
                    return false;
                }
            }
            let _ = storage_set(&self.key, &record(&tab_id(), t));
            self.renewed = t;
            true
        }
    }

    impl Drop for Claim {
        /// A finished, failed or cancelled run lets go (unless another tab holds it now).
        fn drop(&mut self) {
            let rec = storage_get(&self.key).ok().flatten();
            if matches!(rec.as_deref().map(serde_json::from_str::<Owner>), Some(Ok(o)) if o.tab == tab_id()) {
                let _ = storage_remove(&self.key);
            }
        }
    }
}

pub use page::{tab_id, Claim};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_record_of_another_tab_holds_the_run_and_a_stale_one_does_not() {
        let rec = record("a", 10_000.0);
        assert_eq!(verdict(Some(&rec), "b", 12_000.0), Verdict::Elsewhere { age_ms: 2_000.0 });
        assert_eq!(verdict(Some(&rec), "a", 12_000.0), Verdict::Mine, "its own record");
        assert_eq!(verdict(Some(&rec), "b", 10_000.0 + STALE_MS), Verdict::Mine, "stale at STALE_MS");
        assert_eq!(verdict(None, "b", 0.0), Verdict::Mine);
        assert_eq!(verdict(Some("not json"), "b", 0.0), Verdict::Mine, "an unreadable record is none");
        // A record from far in the future (a clock set back) is not trusted to hold the run.
        assert_eq!(verdict(Some(&record("a", 1e12)), "b", 0.0), Verdict::Mine);
    }

    #[test]
    fn keys_and_records_round_trip() {
        assert_eq!(owner_key("memgen-sweep-train:x"), "memgen-owner:memgen-sweep-train:x");
        let o: Owner = serde_json::from_str(&record("t1", 5.5)).unwrap();
        assert_eq!(o, Owner { tab: "t1".into(), at: 5.5 });
    }
}
