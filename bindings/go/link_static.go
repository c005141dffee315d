//go:build !evident_dynamic

package evident

// Links the Rust static library built by `cargo build --release --lib` at
// the repository root. Build with -tags evident_dynamic to link a shared
// libevident.so found by the system linker instead (see link_dynamic.go).

/*
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libevident.a -lm -ldl -lpthread
*/
import "C"
