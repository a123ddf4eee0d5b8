"""Start JupyterLab on the course notebooks wherever a learner is: ``make lab`` / ``python -m course_lib lab``.

Works as root (containers, cloud VMs, workshop images: ``--allow-root``, said in one line) and without a
display (no browser is launched; JupyterLab prints the URL with its token in the terminal).
``COURSE_LAB_IP`` and ``COURSE_LAB_PORT`` choose where it listens, e.g. ``COURSE_LAB_IP=0.0.0.0``
inside a container whose port is published to the host.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["IP_ENV", "PORT_ENV", "is_root", "has_display", "lab_command", "run_lab"]

IP_ENV = "COURSE_LAB_IP"
PORT_ENV = "COURSE_LAB_PORT"


def is_root() -> bool:
    """True when this process runs as root (uid 0; never on Windows)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def has_display(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """True where a browser can open: macOS, Windows, or Linux/BSD with ``DISPLAY`` or ``WAYLAND_DISPLAY`` set."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    return platform in ("darwin", "win32") or bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def _port(text: str) -> int:
    """``COURSE_LAB_PORT`` as a port number, or a ValueError naming the variable and the fix."""
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{PORT_ENV}={text!r} is not a port number 1-65535; e.g. {PORT_ENV}=8888 make lab.")
    return int(text)


def lab_command(notebook_dir: Path, *, root: bool, display: bool, env: Mapping[str, str] | None = None) -> list[str]:
    """The JupyterLab command line: ``--allow-root`` as root, ``--no-browser`` without a display, ip/port from ``env``."""
    env = os.environ if env is None else env
    cmd = [sys.executable, "-m", "jupyterlab", str(notebook_dir)]
    if root:
        cmd.append("--allow-root")
    if not display:
        cmd.append("--no-browser")
    if env.get(IP_ENV):
        cmd.append(f"--ServerApp.ip={env[IP_ENV]}")
    if env.get(PORT_ENV):
        cmd += [f"--ServerApp.port={_port(env[PORT_ENV])}", "--ServerApp.port_retries=0"]
    return cmd


def _notes(root: bool, display: bool) -> list[str]:
    """The lines printed before JupyterLab starts: why root is fine here, where the URL will be."""
    notes = []
    if root:
        notes.append("lab: running as root (usual in containers, cloud VMs and workshop images), so JupyterLab "
                     "gets --allow-root; the server still needs its token.")
    if not display:
        notes.append("lab: no display here, so no browser opens: open the http://...?token=... URL printed below "
                     f"(in a container, start with {IP_ENV}=0.0.0.0 and publish the port).")
    return notes


def run_lab(notebook_dir: Path) -> int:
    """Print the notes, then replace this process with JupyterLab on ``notebook_dir`` (returns only on failure)."""
    notebook_dir = Path(notebook_dir)
    if not notebook_dir.is_dir():
        raise ValueError(f"notebook_dir={str(notebook_dir)!r} is not a folder; run `make notebooks` to create notebooks/.")
    root, display = is_root(), has_display()
    cmd = lab_command(notebook_dir, root=root, display=display)
    for line in _notes(root, display):
        print(line, flush=True)
    if os.name == "nt":  # no exec on Windows: wait for JupyterLab instead
        return subprocess.call(cmd)
    os.execv(cmd[0], cmd)  # JupyterLab gets the terminal and Ctrl-C directly
    return 1
