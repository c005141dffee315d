//go:build evident_dev && !evident_dynamic

package evident

// In-repository development (-tags evident_dev): links the Rust static
// library built by `cargo build --release --lib` at the repository root.
// Build with -tags evident_dynamic to link a shared libevident.so found by
// the system linker instead (see link_dynamic.go); without either tag the
// installed library is found through pkg-config (see link_pkgconfig.go).

/*
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libevident.a -lm -ldl -lpthread
*/
import "C"
