//! A dependency-free wasm32 probe (no wasm-bindgen): exports plain `extern "C"` functions
//! that node (`crates/memgen-core/examples/wasm_bench.mjs`) calls to check that the seeded
//! random scheme gives the same bytes as natively, and to time `classify` at browser sizes.
//! Natively, `cargo run --release --example classify_timing -p memgen-core` (this file,
//! included) prints the same numbers.
use memgen_core::metrics::{classify, Dataset, Rule};
use memgen_core::spec::{fnv1a64, normals, subset_indices, uniforms, NoiseStream, STREAM_NOISE};
use memgen_core::Matrix;

/// FNV-1a of 1000 normals (seed 123, noise stream), pinned in `spec::tests::pinned_values`.
#[no_mangle]
pub extern "C" fn pinned_normal_hash() -> u64 {
    let bytes: Vec<u8> = normals(1000, 123, STREAM_NOISE).iter().flat_map(|v| v.to_le_bytes()).collect();
    fnv1a64(&bytes)
}

/// FNV-1a of a subset (n = 100, k = 10, seed 42, as u32 LE) and 4 uniforms (seed 7).
#[no_mangle]
pub extern "C" fn pinned_subset_uniform_hash() -> u64 {
    let mut b: Vec<u8> = subset_indices(100, 10, 42).unwrap().iter().flat_map(|i| (*i as u32).to_le_bytes()).collect();
    b.extend(uniforms(4, 7, STREAM_NOISE).iter().flat_map(|v| v.to_le_bytes()));
    fnv1a64(&b)
}

fn random(n: usize, d: usize, seed: u64) -> Matrix {
    let mut v = vec![0f32; n * d];
    NoiseStream::new(seed, STREAM_NOISE).fill_uniform_f32(&mut v);
    Matrix::new(v, n, d).unwrap()
}

/// Runs `classify` (ratio rule, MNIST δ_s) on seeded uniform data; returns the number of
/// generalized samples (so the work cannot be optimized away).
#[no_mangle]
pub extern "C" fn classify_random(n_eval: u32, n_train: u32, n_syn: u32, d: u32) -> u32 {
    let d = d as usize;
    let t = random(n_train as usize, d, 1);
    let s = random(n_syn as usize, d, 2);
    let e = random(n_eval as usize, d, 3);
    let c = classify(&t, &s, &e, false, &Rule::paper(Dataset::Mnist)).unwrap();
    c.iter().filter(|c| c.label == memgen_core::metrics::Label::Generalized).count() as u32
}

pub fn main() {
    println!("pinned_normal_hash {:#x}", pinned_normal_hash());
    println!("pinned_subset_uniform_hash {:#x}", pinned_subset_uniform_hash());
    for (ne, nt, ns) in [(1000u32, 1000u32, 4000u32), (2000, 2000, 8000)] {
        let t = std::time::Instant::now();
        let g = classify_random(ne, nt, ns, 784);
        println!("classify native |S_eval|={ne} |S|={nt} |S'|={ns} d=784: {:.3} s (generalized {g})", t.elapsed().as_secs_f64());
    }
}
