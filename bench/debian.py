"""Debian's tools the benchmark runs (``wrk``, ``valgrind``), installed when missing."""
from __future__ import annotations

import shutil
import subprocess


def ensure(command: str, package: str | None = None) -> str:
    """The path of ``command``, installing Debian's ``package`` (named like the command
    unless said) when it is missing."""
    found = shutil.which(command)
    if found:
        return found
    package = package or command
    print(f"{command} is missing: apt-get install -y -qq {package}", flush=True)
    install = ["apt-get", "install", "-y", "-qq", package]
    if subprocess.run(install).returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(install, check=True)
    return shutil.which(command) or command
