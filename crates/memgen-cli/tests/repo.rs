//! What the repository holds (issue 31, item 7): no build output or work folders in git, and no
//! tracked file above 2 MB outside the shipped bundles and pretrained checkpoints (the one kind
//! of generated data that is committed).

use std::path::Path;
use std::process::Command;

const LIMIT: u64 = 2_000_000;

#[test]
fn no_work_folders_or_large_files_are_tracked() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("git").arg("-C").arg(&root).args(["ls-files", "-z"]).output().expect("git runs (the tests run in a clone)");
    assert!(out.status.success(), "git ls-files: {}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<String> = out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    assert!(files.len() > 100, "only {} tracked files: not the repository", files.len());
    for work in ["bundle-shards/", "target/", "dist/", "node_modules/", "test-artifacts/", ".cache/"] {
        let tracked: Vec<&String> = files.iter().filter(|f| f.starts_with(work)).take(3).collect();
        assert!(tracked.is_empty(), "{work} is tracked: {tracked:?}");
    }
    let large: Vec<(String, u64)> = files
        .iter()
        .filter(|f| !f.starts_with("www/bundles/") && !f.starts_with("www/pretrained/"))
        .filter_map(|f| std::fs::metadata(root.join(f)).ok().map(|m| (f.clone(), m.len())))
        .filter(|(_, n)| *n > LIMIT)
        .collect();
    assert!(large.is_empty(), "tracked files above {LIMIT} bytes outside www/bundles and www/pretrained: {large:?}");
}
