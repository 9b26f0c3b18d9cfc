//! Rebuilds the engine when its optimisation profile changes, or when the build is asked to
//! record one instead (see scripts/rustc-pgo, which passes the profile to rustc).

fn main() {
    println!("cargo:rerun-if-changed=pgo/engine.profdata");
    println!("cargo:rerun-if-changed=pgo/llvm-version");
    println!("cargo:rerun-if-env-changed=FLOWBENCH_PGO");
}
