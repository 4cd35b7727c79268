//! Writes every fuzz target's seed corpus into `<dir>/<target>/`: the seeds the lab's writers
//! make and the committed regressions (`scripts/fuzz.sh` runs it before the long run).
//!
//!     memgen-fuzz-seeds <dir>

use std::path::PathBuf;

fn main() {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: memgen-fuzz-seeds <dir>");
        std::process::exit(2);
    };
    let regressions = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("regressions");
    for t in memgen_fuzz::targets() {
        let out = dir.join(t.name);
        let write = |name: String, bytes: &[u8]| {
            if let Err(e) = std::fs::create_dir_all(&out).and_then(|_| std::fs::write(out.join(&name), bytes)) {
                eprintln!("memgen-fuzz-seeds: {}: {e}", out.join(name).display());
                std::process::exit(1);
            }
        };
        let seeds = (t.seeds)();
        for (i, s) in seeds.iter().enumerate() {
            write(format!("seed-{i}"), s);
        }
        let mut kept = 0;
        if let Ok(d) = std::fs::read_dir(regressions.join(t.name)) {
            for e in d.filter_map(Result::ok) {
                if let Ok(b) = std::fs::read(e.path()) {
                    write(format!("regression-{}", e.file_name().to_string_lossy()), &b);
                    kept += 1;
                }
            }
        }
        println!("{}: {} seeds, {kept} regressions", t.name, seeds.len());
    }
}
