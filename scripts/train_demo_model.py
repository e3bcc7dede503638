"""Train the bundled demo model (see docs/demo_model_card.md): two stages.

    SDL_VIDEODRIVER=dummy nice -n 10 python scripts/train_demo_model.py \
        --out /tmp/demo-stage1 --seed 0 --kernel gauss --angle-scale 0.25 --no-mirror
    SDL_VIDEODRIVER=dummy nice -n 10 python scripts/train_demo_model.py \
        --init /tmp/demo-stage1 --out src/vlm_reward/models/bundled/demo --seed 1 \
        --steps 500 --lr 3e-4
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vlm_reward.demo.model_training import TrainArgs, train_demo_model
from vlm_reward.errors import ConfigError


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("src/vlm_reward/models/bundled/demo"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--states-per-scene", type=int, default=TrainArgs.states_per_scene)
    p.add_argument("--steps", type=int, default=TrainArgs.steps)
    p.add_argument("--batch-size", type=int, default=TrainArgs.batch_size)
    p.add_argument("--lr", type=float, default=TrainArgs.lr)
    p.add_argument("--threads", type=int, default=TrainArgs.threads, help="torch CPU threads")
    p.add_argument("--init", type=Path, default=None,
                   help="start from this demo-model folder's weights (a fine-tuning stage)")
    p.add_argument("--angle-scale", type=float, default=TrainArgs.angle_scale,
                   help="pole-angle difference (rad) that is one unit of caption distance")
    p.add_argument("--no-mirror", action="store_true",
                   help="do not add left-right mirrored CartPole frames")
    p.add_argument("--kernel", choices=("laplace", "gauss"), default=TrainArgs.kernel,
                   help="soft-target shape over the state distance")
    a = p.parse_args()
    if a.init is not None and not (a.init / "open_clip_model.safetensors").is_file():
        p.error(f"--init {a.init}: no open_clip_model.safetensors there; give the --out folder "
                "of an earlier run")
    try:
        args = TrainArgs(out=a.out, seed=a.seed, steps=a.steps, states_per_scene=a.states_per_scene,
                         batch_size=a.batch_size, threads=a.threads, lr=a.lr,
                         mirror=not a.no_mirror, kernel=a.kernel, init=a.init,
                         angle_scale=a.angle_scale)
    except ConfigError as exc:
        p.error(str(exc))
    summary = train_demo_model(args)
    losses = summary.pop("losses")
    summary["loss_first"], summary["loss_last10"] = losses[0], sum(losses[-10:]) / 10
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
