//go:build !evident_dev && !evident_dynamic

package evident

// The default build links the installed libevident found by pkg-config
// (evident.pc, installed with the header and the libraries by
// scripts/install-c.sh or a distribution package), so `go get` of this
// module works without a checkout of the repository:
//
//	PKG_CONFIG_PATH=/opt/evident/lib/pkgconfig go build ./...
//
// With the library outside the loader's default path, add an rpath, e.g.
// CGO_LDFLAGS="-Wl,-rpath,/opt/evident/lib". In a checkout of the
// repository, -tags evident_dev links target/release/libevident.a instead
// (see link_static.go).

/*
#cgo pkg-config: evident
*/
import "C"
