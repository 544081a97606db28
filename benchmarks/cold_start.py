"""The panel's first start, measured: from launch to the window showing the camera's picture, to
the effects being ready, and the longest time the window did not repaint (its event loop
stalled), with no compiled kernels (a fresh cache folder and HOME) and again warm.

    python benchmarks/cold_start.py              # cold, then warm; JSON
    python benchmarks/cold_start.py --rounds 2   # each twice

Each start runs in a process of its own, with the demo source (no camera needed), the real
:class:`~vcam.ui.panel.Panel` and controller as ``vcam`` builds them, and Qt offscreen unless
``DISPLAY`` is set and ``--xcb`` is given (a real X server such as Xvfb).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT = 240.0

CHILD = r"""
import json, sys, time
t0 = float(sys.argv[1])
from pathlib import Path
from PySide6.QtCore import QTimer
from vcam.config import CaptureSettings, Settings
from vcam.ui.app import application, dispose
from vcam.ui.controller import Controller
from vcam.ui.panel import Panel

app = application()
controller = Controller(Path(sys.argv[2]), initial=Settings(capture=CaptureSettings(source="demo")), persist=False)
panel = Panel(controller, dialogs=False)
panel.resize(1100, 760)
panel.show()
seen = {"window": time.time() - t0}
last = [time.time()]
stall = [0.0]

def tick():
    now = time.time()
    stall[0] = max(stall[0], now - last[0])
    last[0] = now
    if "picture" not in seen and panel.input_view.frames + panel.output_view.frames > 0:
        seen["picture"] = now - t0
    stats = controller.stats() or {}
    if "picture" in seen and "effects" not in seen and stats.get("frames") and not stats.get("preparing"):
        seen["effects"] = now - t0
    if "effects" in seen or now - t0 > float(sys.argv[3]):
        app.quit()

timer = QTimer(interval=20)
timer.timeout.connect(tick)
timer.start()
QTimer.singleShot(0, controller.start)   # as `vcam` does: the window first
app.exec()
seen["longest_stall"] = stall[0]
print(json.dumps({k: round(v, 2) for k, v in seen.items()}), flush=True)
controller.close()
dispose(panel, controller)
"""


def one_start(cache: Path, home: Path, xcb: bool) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    env["NUMBA_CACHE_DIR"] = str(cache / "vcam" / "kernels")   # vcam's own default, set for older heads too
    if not xcb:
        env["QT_QPA_PLATFORM"] = "offscreen"
    t0 = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, repr(t0), str(home / "config"), str(TIMEOUT)], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT + 60)
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(done.stderr[-2000:])
    seen = json.loads(lines[-1])
    if done.returncode != 0:   # measured, then failed on the way out: said, not hidden
        seen["exit_code"] = done.returncode
    return seen


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=1, help="cold and warm starts of each kind (default 1)")
    ap.add_argument("--xcb", action="store_true", help="show the window on $DISPLAY instead of offscreen")
    args = ap.parse_args()
    result: dict = {"cold": [], "warm": []}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="vcam-cold-") as tmp:
            cache, home = Path(tmp) / "cache", Path(tmp) / "home"
            home.mkdir()
            result["cold"].append(one_start(cache, home, args.xcb))
            result["warm"].append(one_start(cache, home, args.xcb))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
