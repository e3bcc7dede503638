"""Reproducible speed and quality measurements of vlm-reward: ours vs a naive baseline, same run.

Run one with ``python -m benchmarks.NAME`` from the repository root, or all with
``python -m benchmarks.run_all`` (``make bench``). Each prints JSON; see BENCHMARKS.md.
"""

__all__: list[str] = []
