"""Held-out checks of a demo model (the bundled one, or one you retrained), as a table.

    SDL_VIDEODRIVER=dummy python scripts/evaluate_demo_model.py                  # bundled
    SDL_VIDEODRIVER=dummy python scripts/evaluate_demo_model.py --model local-dir:/tmp/demo \
        --out /tmp/demo-eval            # also writes the plots and demo_heldout_results.json
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vlm_reward.demo.heldout import evaluate_demo_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="demo", help="model spec (default: the bundled demo)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the reward plots and demo_heldout_results.json")
    a = p.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    results = evaluate_demo_model(a.model, a.out)
    table = Table(title=f"held-out checks of {a.model}")
    table.add_column("check")
    table.add_column("value", justify="right")
    for key, value in results.items():
        table.add_row(key, f"{value:.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
