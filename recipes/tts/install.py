"""Setup of the synthesizers: Debian packages and the flite helper binary."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

__all__ = ["BASE_PACKAGES", "missing_packages", "install_packages", "build_flite_helper"]

BASE_PACKAGES = ("sox", "gcc", "libc6-dev", "fortunes")
_HELPER_SOURCE = Path(__file__).with_name("flite_align.c")
_FLITE_LIBS = ["-lflite_cmu_us_awb", "-lflite_cmu_us_rms", "-lflite_cmu_us_slt", "-lflite_usenglish",
               "-lflite_cmulex", "-lflite", "-lm"]


def missing_packages(packages: Iterable[str]) -> list[str]:
    """The Debian packages among ``packages`` that are not installed (``dpkg-query``)."""
    missing = []
    for package in dict.fromkeys(packages):
        query = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
        if query.returncode != 0 or "install ok installed" not in query.stdout:
            missing.append(package)
    return missing


def install_packages(packages: Iterable[str]) -> list[str]:
    """Install the missing ones of ``packages`` with apt-get (as root); returns what was installed.

    Raises RuntimeError with the command to run when not root.
    """
    missing = missing_packages(packages)
    if not missing:
        return []
    command = ["apt-get", "install", "-y", "-q", *missing]
    if os.geteuid() != 0:
        raise RuntimeError(f"missing Debian packages; run: sudo apt-get update && sudo {' '.join(command)}")
    subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(command, check=True, capture_output=True, env=env)
    return missing


def build_flite_helper(target: Path) -> Path:
    """Compile ``flite_align.c`` to ``target`` (skipped when it is newer than the source)."""
    if target.exists() and target.stat().st_mtime >= _HELPER_SOURCE.stat().st_mtime:
        return target
    if shutil.which("gcc") is None:
        raise RuntimeError("gcc is needed to build the flite helper (Debian packages gcc, libc6-dev)")
    target.parent.mkdir(parents=True, exist_ok=True)
    command = ["gcc", "-O2", "-o", str(target), str(_HELPER_SOURCE), "-I/usr/include/flite", *_FLITE_LIBS]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return target
