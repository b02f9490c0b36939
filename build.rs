//! Embeds an rpath to libtorch's folder so that `charlab` runs without `LD_LIBRARY_PATH`.
//!
//! `torch-sys` declares `links = "tch"` and prints `cargo:libtorch_lib=<dir>`; cargo passes it
//! to the build scripts of direct dependents as `DEP_TCH_LIBTORCH_LIB`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        if cfg!(any(target_os = "linux", target_os = "macos")) {
            // Binaries, tests, examples and benches all get the rpath.
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        }
        println!("cargo:rustc-env=CHARLAB_LIBTORCH_LIB={dir}");
    }
}
