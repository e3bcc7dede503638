"""The README's Python example runs as printed (with the bundled demo model, offline)."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no python example"
    proc = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    reward, env_reward, success = proc.stdout.split()
    assert float(env_reward) == 1.0  # the env's own reward rides along in info
    # the pole starts near upright and the frame is drawn at the model's size
    assert float(reward) > 0.5 and success == "True"
