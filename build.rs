//! Embeds an rpath to libtorch's folder so that `charlab` runs without `LD_LIBRARY_PATH`, and
//! keeps libtorch's CUDA library linked when libtorch has one.
//!
//! Nothing in charlab calls into `libtorch_cuda` directly, so the linker's `--as-needed` drops
//! it, its start-up code (which registers CUDA with libtorch) never runs, and
//! `Device::cuda_if_available()` answers CPU even on a GPU machine (tch-rs issue 980;
//! torch-sys links it, but cannot pass the linker flag on to its dependents' binaries).
//!
//! `torch-sys` declares `links = "tch"` and prints `cargo:libtorch_lib=<dir>`; cargo passes it
//! to the build scripts of direct dependents as `DEP_TCH_LIBTORCH_LIB`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo::rustc-check-cfg=cfg(charlab_cuda_linked)");
    // The GPU bundle (`cuda-dlopen`) runs with the device's libtorch, found through
    // LD_LIBRARY_PATH, and opens libtorch_cuda itself (src/cuda.rs): no rpath, no forced link.
    let bundle = std::env::var_os("CARGO_FEATURE_CUDA_DLOPEN").is_some();
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        if bundle {
            println!("cargo:rustc-env=CHARLAB_LIBTORCH_LIB={dir}");
            return;
        }
        if cfg!(any(target_os = "linux", target_os = "macos")) {
            // Binaries, tests, examples and benches all get the rpath.
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        }
        let cuda = std::path::Path::new(&dir).join("libtorch_cuda.so");
        if cfg!(target_os = "linux") && cuda.exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
            println!("cargo:rustc-cfg=charlab_cuda_linked");
        }
        println!("cargo:rustc-env=CHARLAB_LIBTORCH_LIB={dir}");
    }
}
