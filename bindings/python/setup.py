"""Builds the evident shared library with Cargo and installs it inside the
package as ``evident/_libevident.so`` (``.pyd`` on Windows; found by
``evident._native``).

The library is loaded with ctypes, not imported as an extension module, so
it does not depend on the Python version: wheels are tagged
``py3-none-<platform>`` and one wheel per platform serves every Python 3.
``scripts/build-wheel.sh`` (repository root) builds such a wheel, strips the
library and tags it ``manylinux`` with auditwheel.

Where the Rust crate comes from:

* in a source checkout, the repository's ``Cargo.toml`` (``../../``);
* in an sdist, the ``rust/`` directory inside it: ``python -m build --sdist``
  puts the crate there exactly as ``cargo package`` publishes it (the
  ``include`` list of Cargo.toml: sources, Cargo.lock, header; no test
  data), so the sdist builds from its own contents.

EVIDENT_CARGO_PROFILE selects the Cargo profile: ``release`` (default) or
``dev``/``debug``. CARGO_TARGET_DIR is honoured as usual.

A library linked beforehand for another platform is packaged as it is, with
no Cargo build: EVIDENT_PREBUILT_LIBRARY names the file (installed under its
own name, e.g. ``evident/libevident.dylib``) and EVIDENT_WHEEL_PLATFORM the
wheel's platform tag (e.g. ``macosx_11_0_arm64``). ``scripts/cross-check.sh
macos_wheel`` builds the macOS wheels this way from the library that
cargo-zigbuild cross-links, ``windows_wheel`` the Windows wheel
(``evident/evident.dll``, ``win_amd64``) from the library cross-built with
mingw-w64.

The library is built with the crate types of the ``[lib]`` section of the
crate's Cargo.toml (not only ``cdylib``), so that this build and a plain
``cargo build --release --lib`` share Cargo's fingerprint and neither
recompiles what the other built.
"""

import atexit
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools_rust import Binding, RustExtension, Strip
from setuptools_rust.build import build_rust

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - build requirement on older Pythons
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
SDIST_CRATE = "rust"  # where an sdist keeps the crate
if (HERE / SDIST_CRATE / "Cargo.toml").is_file():
    MANIFEST = f"{SDIST_CRATE}/Cargo.toml"
else:
    MANIFEST = "../../Cargo.toml"

profile = os.environ.get("EVIDENT_CARGO_PROFILE", "release")
if profile not in ("release", "dev", "debug"):
    raise SystemExit(f"EVIDENT_CARGO_PROFILE must be release, dev or debug, not {profile!r}")

prebuilt = os.environ.get("EVIDENT_PREBUILT_LIBRARY")
wheel_platform = os.environ.get("EVIDENT_WHEEL_PLATFORM")
if bool(prebuilt) != bool(wheel_platform):
    raise SystemExit("EVIDENT_PREBUILT_LIBRARY and EVIDENT_WHEEL_PLATFORM go together")
if prebuilt and not Path(prebuilt).is_file():
    raise SystemExit(f"EVIDENT_PREBUILT_LIBRARY={prebuilt!r}: no such file")

manifest_path = HERE / MANIFEST
with open(manifest_path, "rb") as f:
    crate_types = tomllib.load(f).get("lib", {}).get("crate-type", [])
if "cdylib" not in crate_types:
    raise SystemExit(f"{manifest_path}: [lib] crate-type must include cdylib")


class BuildRust(build_rust):
    """Installs the library as ``_libevident.so`` (``.pyd`` on Windows), a
    name without the interpreter's tag: it is not an extension module."""

    def get_dylib_ext_path(self, ext, target_fname):  # type: ignore[no-untyped-def]
        path = super().get_dylib_ext_path(ext, target_fname)
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ""
        plain = ".pyd" if sys.platform == "win32" else ".so"
        if suffix and path.endswith(suffix):
            return path[: -len(suffix)] + plain
        return path


try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]


class BdistWheel(bdist_wheel):
    """``py3-none-<platform>``: any Python 3, one platform."""

    def get_tag(self):  # type: ignore[no-untyped-def]
        if wheel_platform:
            return "py3", "none", wheel_platform
        _, _, plat = super().get_tag()
        return "py3", "none", plat


class BuildPyPrebuilt(build_py):
    """Copies EVIDENT_PREBUILT_LIBRARY into the package, under its own name."""

    def run(self):  # type: ignore[no-untyped-def]
        super().run()
        assert prebuilt
        dest = Path(self.build_lib) / "evident" / Path(prebuilt).name
        self.copy_file(prebuilt, str(dest))


class PlatformDistribution(Distribution):
    """A platform wheel (not pure) although no extension is built here."""

    def has_ext_modules(self):  # type: ignore[no-untyped-def]
        return True


class Sdist(sdist):
    """Puts the Rust crate into the sdist under ``rust/``: in a checkout as
    ``cargo package`` publishes it; from an unpacked sdist, the ``rust/``
    directory it already has."""

    def make_release_tree(self, base_dir, files):  # type: ignore[no-untyped-def]
        super().make_release_tree(base_dir, files)
        dest = Path(base_dir) / SDIST_CRATE
        if dest.exists():
            shutil.rmtree(dest)
        if MANIFEST.startswith(SDIST_CRATE):
            shutil.copytree(HERE / SDIST_CRATE, dest)
            return
        root = manifest_path.parent
        with tempfile.TemporaryDirectory() as tmp:
            # --no-verify: nothing is compiled; --allow-dirty: uncommitted
            # work is packaged as it is (this is a build, not a release).
            subprocess.run(
                ["cargo", "package", "--no-verify", "--allow-dirty", "--locked",
                 "--quiet", "--target-dir", tmp],
                cwd=root, check=True,
            )
            crates = list((Path(tmp) / "package").glob("*.crate"))
            if len(crates) != 1:
                raise SystemExit(f"cargo package made {crates}, expected one .crate")
            with tarfile.open(crates[0]) as t:
                top = t.getnames()[0].split("/")[0]
                if sys.version_info >= (3, 12):
                    t.extractall(tmp, filter="data")
                else:  # pragma: no cover
                    t.extractall(tmp)  # noqa: S202 - our own cargo package output
            shutil.copytree(Path(tmp) / top, dest)


if prebuilt:
    # A build directory of its own: the library must not stay behind in
    # build/ and end up in the next wheel built from this directory.
    build_base = tempfile.mkdtemp(prefix="evident-wheel-")
    atexit.register(shutil.rmtree, build_base, ignore_errors=True)
    setup(
        cmdclass={"build_py": BuildPyPrebuilt, "bdist_wheel": BdistWheel, "sdist": Sdist},
        distclass=PlatformDistribution,
        options={"build": {"build_base": build_base}, "bdist_wheel": {"bdist_dir": build_base + "/bdist"}},
    )
else:
    setup(
        cmdclass={"build_rust": BuildRust, "bdist_wheel": BdistWheel, "sdist": Sdist},
        rust_extensions=[
            RustExtension(
                "evident._libevident",
                path=MANIFEST,
                binding=Binding.NoBinding,
                debug=profile != "release",
                # The release profile keeps line tables (debug = 1) for
                # backtraces in development; the installed copy is stripped.
                strip=Strip.All,
                # --locked: exactly the dependency versions of Cargo.lock.
                args=["--locked", "--crate-type", ",".join(crate_types)],
                py_limited_api=False,
            )
        ],
    )
