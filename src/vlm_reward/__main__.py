"""``python -m vlm_reward`` runs the CLI."""

from vlm_reward.cli import main

main()
