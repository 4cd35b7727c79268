//! Every `shaders/*.wgsl` parses and validates with naga (the WGSL front end wgpu uses),
//! and declares the entry points and bindings the Rust side launches.

use std::path::Path;

fn validate(path: &Path) -> naga::Module {
    let src = std::fs::read_to_string(path).unwrap();
    let module = naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{} does not parse:\n{}", path.display(), e.emit_to_string(&src)));
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{} does not validate: {e:?}", path.display()));
    module
}

#[test]
fn every_shader_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wgsl") {
            validate(&path);
            n += 1;
        }
    }
    assert!(n >= 2, "expected the lab's shaders in {}", dir.display());
}

fn entry_points(module: &naga::Module) -> Vec<(String, [u32; 3])> {
    module.entry_points.iter().map(|e| (e.name.clone(), e.workgroup_size)).collect()
}

fn bindings(module: &naga::Module) -> Vec<u32> {
    let mut b: Vec<u32> = module.global_variables.iter().filter_map(|(_, v)| v.binding.as_ref().map(|r| r.binding)).collect();
    b.sort();
    b
}

#[test]
fn energy_shader_has_the_launched_entry_points() {
    let m = validate(&Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/energy.wgsl"));
    let eps = entry_points(&m);
    assert!(eps.contains(&("energy_main".into(), [8, 8, 1])));
    assert!(eps.contains(&("range_main".into(), [256, 1, 1])));
    assert!(eps.contains(&("colour_main".into(), [8, 8, 1])));
    assert_eq!(bindings(&m), vec![0, 1, 2, 3, 4]);
}

#[test]
fn retrieve_shader_has_the_launched_entry_point() {
    let m = validate(&Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/retrieve.wgsl"));
    assert_eq!(entry_points(&m), vec![("retrieve_main".into(), [64, 1, 1])]);
    assert_eq!(bindings(&m), vec![0, 1, 2]);
}

#[test]
fn a_broken_shader_is_rejected() {
    // The check above must be able to fail: a type error is caught.
    let bad = "@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }";
    assert!(
        naga::front::wgsl::parse_str(bad).is_err() || {
            let m = naga::front::wgsl::parse_str(bad).unwrap();
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty()).validate(&m).is_err()
        }
    );
}
