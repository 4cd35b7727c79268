//! Helpers shared by the CLI's integration tests: run the `memgen` binary and check its output.
#![allow(dead_code)] // each test file uses its own subset

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_memgen");

/// Runs `memgen args…`.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Runs `memgen args…`, asserts success and parses its JSON stdout.
pub fn ok_json(args: &[&str]) -> Value {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Asserts a clean failure whose single stderr line contains `needle`.
pub fn fails_with(args: &[&str], needle: &str) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.to_lowercase().contains(&needle.to_lowercase()), "{err:?} lacks {needle:?}");
}

/// `fractions.csv` as (k, [memorized, m_std, spurious, s_std, generalized, g_std]).
pub fn fractions(dir: &Path) -> Vec<(usize, Vec<f64>)> {
    let csv = std::fs::read_to_string(dir.join("fractions.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "k,memorized,memorized_std,spurious,spurious_std,generalized,generalized_std");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[1..].iter().map(|v| v.parse().unwrap()).collect())
        })
        .collect()
}
