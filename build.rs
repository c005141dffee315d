//! Linker arguments that depend on the target.
//!
//! macOS: the shared library's install name is `@rpath/libevident.dylib`
//! (rustc's default is the absolute path in `target/`, which names a file
//! that does not exist on the user's machine), so a program linked against
//! it finds it through its own run paths, as with a SONAME on Linux.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The oldest macOS the binaries are for: a new value must relink them.
    println!("cargo:rerun-if-env-changed=MACOSX_DEPLOYMENT_TARGET");
    if std::env::var("CARGO_CFG_TARGET_VENDOR").as_deref() == Ok("apple") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libevident.dylib");
    }
}
