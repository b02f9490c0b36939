//! The `charlab` binary keeps libtorch's CUDA library linked when libtorch has one (see
//! `build.rs`): without it, `Device::cuda_if_available()` answers CPU even on a GPU machine.

#[test]
fn binary_links_libtorch_cuda_when_libtorch_has_it() {
    let Some(dir) = option_env!("CHARLAB_LIBTORCH_LIB") else {
        return;
    };
    let cuda = std::path::Path::new(dir).join("libtorch_cuda.so");
    if !cfg!(target_os = "linux") || !cuda.exists() {
        return;
    }
    // A shared library the binary needs is named in its dynamic string table; libtorch_cuda
    // is named nowhere else in it.
    let bin = std::fs::read(env!("CARGO_BIN_EXE_charlab")).unwrap();
    let name = b"libtorch_cuda.so";
    assert!(
        bin.windows(name.len()).any(|w| w == name),
        "charlab does not link {}: build.rs must pass -Wl,--no-as-needed for it",
        cuda.display()
    );
}
