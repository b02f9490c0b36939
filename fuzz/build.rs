//! Embeds an rpath to libtorch's folder in the fuzz binaries, as charlab's own build.rs does
//! for its binaries (a `rustc-link-arg` of a dependency does not reach this crate's binaries),
//! so that they start without `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        if cfg!(any(target_os = "linux", target_os = "macos")) {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        }
    }
}
