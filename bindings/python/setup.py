"""Builds the evident shared library with Cargo and installs it inside the
package as ``evident/_libevident<suffix>`` (found by ``evident._native``).

EVIDENT_CARGO_PROFILE selects the Cargo profile: ``release`` (default) or
``dev``/``debug``. CARGO_TARGET_DIR is honoured as usual.

The library is built with the crate types of the ``[lib]`` section of the
repository's Cargo.toml (not only ``cdylib``), so that this build and a
plain ``cargo build --release --lib`` share Cargo's fingerprint and neither
recompiles what the other built.
"""

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools_rust import Binding, RustExtension

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - build requirement on older Pythons
    import tomli as tomllib

MANIFEST = "../../Cargo.toml"

profile = os.environ.get("EVIDENT_CARGO_PROFILE", "release")
if profile not in ("release", "dev", "debug"):
    raise SystemExit(f"EVIDENT_CARGO_PROFILE must be release, dev or debug, not {profile!r}")

manifest_path = Path(__file__).resolve().parent / MANIFEST
with open(manifest_path, "rb") as f:
    crate_types = tomllib.load(f).get("lib", {}).get("crate-type", [])
if "cdylib" not in crate_types:
    raise SystemExit(f"{manifest_path}: [lib] crate-type must include cdylib")

setup(
    rust_extensions=[
        RustExtension(
            "evident._libevident",
            path=MANIFEST,
            binding=Binding.NoBinding,
            debug=profile != "release",
            # --locked: exactly the dependency versions of Cargo.lock.
            args=["--locked", "--crate-type", ",".join(crate_types)],
            py_limited_api=False,
        )
    ],
)
