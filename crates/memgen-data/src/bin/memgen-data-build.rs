//! `memgen-data-build`: fetch, verify, decode and pack the lab's datasets.
//!
//! ```text
//! memgen-data-build [--out DIR] [--cache DIR] [--only mnist,fashion-mnist,emoji]
//!                   [--skin-variations] [--force] [--level 0-9] [--budget BYTES] [--verify]
//! ```
//! Defaults: `--out www/data --cache .cache/datasets`, all datasets, base
//! emoji designs only. Run from the repository root (scripts/datasets.sh does).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use memgen_data::fetch::{build, BuildOptions};
use memgen_data::{DatasetId, PackedDataset};

const USAGE: &str = "usage: memgen-data-build [--out DIR] [--cache DIR] [--only mnist,fashion-mnist,emoji] \
[--skin-variations] [--force] [--level 0-9] [--budget BYTES] [--verify]";

fn parse_args() -> Result<(BuildOptions, bool), String> {
    let mut o = BuildOptions::default();
    let mut verify = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().ok_or_else(|| format!("{a} needs {what}"));
        match a.as_str() {
            "--out" => o.out_dir = PathBuf::from(value("a directory")?),
            "--cache" => o.cache_dir = PathBuf::from(value("a directory")?),
            "--only" => {
                o.datasets = value("a list of datasets")?
                    .split(',')
                    .map(|s| DatasetId::parse(s.trim()).ok_or_else(|| format!("unknown dataset {s:?} (mnist, fashion-mnist, emoji)")))
                    .collect::<Result<_, _>>()?
            }
            "--skin-variations" => o.include_skin_variations = true,
            "--force" => o.force = true,
            "--verify" => verify = true,
            "--level" => o.level = value("0-9")?.parse().map_err(|e| format!("--level: {e}"))?,
            "--budget" => o.web_budget = value("a byte count")?.parse().map_err(|e| format!("--budget: {e}"))?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok((o, verify))
}

fn main() -> ExitCode {
    let (o, verify) = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let t = Instant::now();
    let mut log = |s: &str| println!("  {s}");
    match build(&o, &mut log) {
        Ok(r) => {
            println!("datasets in {} ({:.1} s):", o.out_dir.display(), t.elapsed().as_secs_f64());
            for e in &r.manifest.files {
                let h = &e.header;
                println!(
                    "  {:<32} {:>6} x {}x{}x{}  {:>10} bytes{}  {} classes  sha256 {}",
                    e.file,
                    h.n,
                    h.height,
                    h.width,
                    h.channels,
                    e.bytes,
                    if e.web { "  [app]" } else { "       " },
                    h.class_names.len(),
                    e.sha256
                );
            }
            if verify {
                for e in &r.manifest.files {
                    let t = Instant::now();
                    match PackedDataset::read_file(o.out_dir.join(&e.file)) {
                        Ok(d) => println!("  verified {}: {} images, payload sha256 ok, read in {:.2} s", e.file, d.len(), t.elapsed().as_secs_f64()),
                        Err(err) => {
                            eprintln!("error: {err}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
            }
            if r.built.is_empty() {
                println!("up to date (nothing rebuilt)");
            } else {
                let b: Vec<&str> = r.built.iter().map(|d| d.as_str()).collect();
                println!("built: {}", b.join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
