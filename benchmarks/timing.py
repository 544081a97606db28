"""Timing for the benchmarks: steps interleaved round by round, so that a noisy machine treats
them alike, each figure a median."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np


def interleaved(steps: dict[str, Callable[[int], object]], rounds: int, runs: int = 40,
                warm: int = 5) -> dict[str, dict[str, list[float]]]:
    """Each step called ``runs`` times a round (with the run's index), the steps in turn, for
    ``rounds`` rounds; the first ``warm`` runs of a round left out. For each step: the median ms
    per call of each round (``ms``) and the median CPU ms of this process per call (``cpu_ms``)."""
    out = {name: {"ms": [], "cpu_ms": []} for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            wall, cpu = [], []
            for i in range(runs):
                c0, t0 = time.process_time(), time.perf_counter()
                step(i)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            out[name]["ms"].append(float(np.median(wall[warm:]) * 1000))
            out[name]["cpu_ms"].append(float(np.median(cpu[warm:]) * 1000))
    return out


def report(title: str, figures: dict[str, dict[str, list[float]]], width: int = 42) -> None:
    """Print each step's median over the rounds, its range, and its CPU ms."""
    print(title)
    for name, f in figures.items():
        ms = f["ms"]
        print(f"  {name:{width}s} {np.median(ms):6.3f} ({min(ms):.3f}-{max(ms):.3f})  CPU {np.median(f['cpu_ms']):6.3f}")
