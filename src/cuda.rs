//! How libtorch's CUDA library gets into the process: the one place where the GPU bundle's
//! build differs from the default one (see `build.rs` and `scripts/gpu/bundle.sh`).
//!
//! - The default build links `libtorch_cuda` when libtorch has it (`build.rs`), so CUDA is
//!   registered before `main` and [`load_library`] has nothing to do.
//! - The GPU bundle (`cuda-dlopen` feature, built against another libtorch than the one it runs
//!   with) links only libtorch's CPU libraries and opens `libtorch_cuda.so` from
//!   `LD_LIBRARY_PATH` at start. The same binary then runs on a CPU-only machine (the library,
//!   or the CUDA runtime under it, is missing: CPU) and on a GPU machine (CUDA registered).

use std::sync::OnceLock;

static STATE: OnceLock<String> = OnceLock::new();

/// Loads `libtorch_cuda` if this build opens it at run time, once; returns what happened, in
/// words (also [`library_state`]). Call it before the first libtorch operation.
pub fn load_library() -> &'static str {
    STATE.get_or_init(open)
}

/// What [`load_library`] said (`not tried` before it ran).
pub fn library_state() -> &'static str {
    STATE.get().map_or("not tried", String::as_str)
}

#[cfg(feature = "cuda-dlopen")]
fn open() -> String {
    let name = c"libtorch_cuda.so";
    // SAFETY: dlopen with a NUL-terminated name; the handle is kept for the process's life
    // (never closed), so the CUDA kernels it registers stay valid. dlerror's message is copied
    // at once.
    unsafe {
        let handle = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if handle.is_null() {
            let err = libc::dlerror();
            let why = if err.is_null() {
                "unknown error".to_string()
            } else {
                std::ffi::CStr::from_ptr(err).to_string_lossy().into_owned()
            };
            format!("not loaded, CPU only (dlopen libtorch_cuda.so: {why})")
        } else {
            "loaded at start (dlopen from LD_LIBRARY_PATH)".to_string()
        }
    }
}

#[cfg(not(feature = "cuda-dlopen"))]
fn open() -> String {
    if cfg!(charlab_cuda_linked) {
        "linked (this libtorch has CUDA)".to_string()
    } else {
        "absent from this libtorch (CPU only)".to_string()
    }
}
