//! Native run of the wasm probe: `cargo run --release --example classify_timing -p memgen-core`.
#[path = "wasm_bench.rs"]
mod probe;

fn main() {
    probe::main();
}
