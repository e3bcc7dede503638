"""Measure what a signal, a SIGKILL and a damaged checkpoint cost a run (docs/training.md).

Starts ``vlm-reward train CONFIG`` with a checkpoint every ``--every`` steps, waits for the
checkpoint at ``2 * every`` steps plus 1.5 s, then: SIGTERM to the main process; SIGINT to the
process group; SIGKILL. Each run is resumed for one more rollout with
``vlm-reward train --resume RUN --set total_steps=N+EXTRA``; the SIGKILLed run is also resumed
once more from a copy whose newest checkpoint is cut in half. Prints one JSON object:
exit codes, seconds to exit, steps reached, the step each resume started from, and the wall
seconds of each resume command.

    python scripts/measure_faults.py --out runs/faults
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vlm_reward", *args], cwd=REPO,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _checkpoints(run: Path) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("model_*.zip"))


def _last_logged_step(run: Path) -> int:
    with open(run / "tb" / "progress.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return int(float(rows[-1]["time/total_timesteps"])) if rows else 0


def fault(out: Path, config: str, every: int, sig: signal.Signals, group: bool) -> dict:
    run = out / sig.name.lower()
    shutil.rmtree(run, ignore_errors=True)
    proc = _cli("train", config, "--run-dir", str(run), "--set", "total_steps=10000000",
                "--set", f"logging.checkpoint_every={every}", "--set", "logging.eval_every=0",
                "--set", "logging.video_every=0", "--set", "logging.progress_bar=false")
    while not (run / "checkpoints").is_dir() or max(_checkpoints(run), default=0) < 2 * every:
        if proc.poll() is not None:
            raise SystemExit(proc.communicate()[1])
        time.sleep(0.2)
    time.sleep(1.5)
    start = time.perf_counter()
    (os.killpg if group else os.kill)(proc.pid, sig)
    _, err = proc.communicate()
    return {"run": str(run), "signal": sig.name, "to": "process group" if group else "process",
            "exit_code": proc.returncode, "seconds_to_exit": round(time.perf_counter() - start, 1),
            "steps_logged": _last_logged_step(run), "checkpoints": _checkpoints(run),
            "message": err.strip().splitlines()[-1] if err.strip() else None}


def resume(run: Path, extra: int) -> dict:
    total = max(_checkpoints(run)) + extra
    start = time.perf_counter()
    proc = _cli("train", "--resume", str(run), "--set", f"total_steps={total}")
    _, err = proc.communicate()
    results = json.loads((run / "results.json").read_text())
    return {"exit_code": proc.returncode, "seconds": round(time.perf_counter() - start, 1),
            "resumed_from": results["resumed_from"][-1], "num_timesteps": results["num_timesteps"],
            "warnings": [line for line in err.splitlines() if "checkpoint" in line]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/cartpole-cpu.yaml")
    parser.add_argument("--every", type=int, default=2048, help="checkpoint interval (steps)")
    parser.add_argument("--extra", type=int, default=256, help="steps each resume trains")
    parser.add_argument("--out", type=Path, default=Path("runs/faults"))
    args = parser.parse_args()
    out = args.out.resolve()
    report = {}
    for sig, group in ((signal.SIGTERM, False), (signal.SIGINT, True), (signal.SIGKILL, False)):
        report[sig.name] = fault(out, args.config, args.every, sig, group)
    damaged = out / "damaged"
    shutil.rmtree(damaged, ignore_errors=True)
    shutil.copytree(out / "sigkill", damaged)
    for sig in ("SIGTERM", "SIGINT", "SIGKILL"):
        report[sig]["resume"] = resume(Path(report[sig]["run"]), args.extra)
    newest = damaged / "checkpoints" / f"model_{max(_checkpoints(damaged))}.zip"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    report["truncated_newest"] = {"file": newest.name, "resume": resume(damaged, args.extra)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
