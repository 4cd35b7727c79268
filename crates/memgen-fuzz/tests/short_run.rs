//! The test command's short run of every fuzz target: the seeds, the committed regressions
//! (inputs the long run found, in `regressions/<target>/`) and mutated inputs from a fixed seed.
//! Asserts: no panic, every refusal a one-line message, no single allocation over
//! [`MAX_ALLOCATION`] (a counting allocator refuses it, so such a parse aborts the test).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use memgen_fuzz::{short_run, targets, MAX_ALLOCATION};

/// The system allocator, refusing single requests over [`MAX_ALLOCATION`] and keeping the
/// largest request seen.
struct Capped;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        if new_size > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

/// Mutated inputs per target (a few seconds for all of them on 2 cores).
const INPUTS: usize = 3000;

fn regressions(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join(name);
    let mut files: Vec<_> = std::fs::read_dir(dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

#[test]
fn every_target_survives_its_short_run() {
    let mut failures = Vec::new();
    for t in targets() {
        let seeds = (t.seeds)();
        assert!(!seeds.is_empty() && seeds.iter().all(|s| !s.is_empty()), "{}: no seeds", t.name);
        // Every seed is a valid file: the mutations start from inputs the parser accepts.
        for (i, s) in seeds.iter().enumerate() {
            assert_eq!((t.run)(s), Ok(()), "{}: seed {i} is refused", t.name);
        }
        LARGEST.store(0, Ordering::Relaxed);
        let r = short_run(&t, INPUTS, 0, regressions(t.name));
        eprintln!(
            "{:<16} {:>5} inputs, {:>4} accepted, {} panics, {} bad messages, slowest {:.3} s, largest allocation {:.1} MB",
            t.name,
            r.executions,
            r.accepted,
            r.panics.len(),
            r.bad_messages.len(),
            r.slowest_s,
            LARGEST.load(Ordering::Relaxed) as f64 / 1e6
        );
        // The mutator must reach refusals too, or it tests nothing.
        assert!(r.accepted < r.executions, "{}: every mutated input was accepted", t.name);
        for (input, msg) in r.panics.iter().take(3) {
            failures.push(format!("{}: panic “{msg}” on {} bytes {:?}", t.name, input.len(), &input[..input.len().min(64)]));
        }
        for (_, msg) in r.bad_messages.iter().take(3) {
            failures.push(format!("{}: refusal without a one-line message: {msg:?}", t.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_hostile_link_cannot_reorder_a_notice() {
    // A right-to-left override in a value would reverse the rest of the notice on screen.
    let notices = memgen_lab::link::view_notices("?beta=abc%E2%80%AEdef&tk=x%E2%81%A6y&dk=%E2%80%8F7");
    assert_eq!(notices.len(), 3, "{notices:?}");
    assert!(notices[0].contains("abcdef"), "{}", notices[0]);
    for n in &notices {
        assert!(!n.chars().any(memgen_core::text::is_bidi_control), "{n:?}");
    }
}
