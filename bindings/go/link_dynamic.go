//go:build evident_dynamic

package evident

// With -tags evident_dynamic the package links -levident (libevident.so);
// point the linker at it with CGO_LDFLAGS="-L<dir>" and the loader with
// LD_LIBRARY_PATH or an rpath, e.g.
//
//	CGO_LDFLAGS="-L$PWD/../../target/release -Wl,-rpath,$PWD/../../target/release" \
//	    go test -tags evident_dynamic ./...

/*
#cgo LDFLAGS: -levident -lm -ldl -lpthread
*/
import "C"
