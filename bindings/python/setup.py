"""Builds the evident shared library with Cargo and installs it inside the
package as ``evident/_libevident<suffix>`` (found by ``evident._native``).

EVIDENT_CARGO_PROFILE selects the Cargo profile: ``release`` (default) or
``dev``/``debug``. CARGO_TARGET_DIR is honoured as usual.
"""

import os

from setuptools import setup
from setuptools_rust import Binding, RustExtension

profile = os.environ.get("EVIDENT_CARGO_PROFILE", "release")
if profile not in ("release", "dev", "debug"):
    raise SystemExit(f"EVIDENT_CARGO_PROFILE must be release, dev or debug, not {profile!r}")

setup(
    rust_extensions=[
        RustExtension(
            "evident._libevident",
            path="../../Cargo.toml",
            binding=Binding.NoBinding,
            debug=profile != "release",
            # Build exactly the dependency versions of the repository's Cargo.lock.
            cargo_manifest_args=["--locked"],
            py_limited_api=False,
        )
    ],
)
