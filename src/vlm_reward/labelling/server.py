"""Run the labelling app with uvicorn on a local address and open it in the browser.

The listening socket is bound before anything else happens, so a port in use (or any other
reason the address cannot be bound) is reported before the app opens its label database:
a failed start leaves nothing behind on disk.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

from vlm_reward.errors import ConfigError, DependencyNotInstalled

__all__ = ["bind_socket", "is_loopback", "serve"]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (0 = any free port), or ConfigError naming the fix.

    The server is handed this very socket, so there is no window between checking that the
    port is free and taking it.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {port}.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Like uvicorn: reuse a port left in TIME_WAIT, never one another program listens on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"cannot listen on {host}:{port} ({reason}); pick another --port or stop the "
            "program using it."
        ) from exc
    sock.set_inheritable(True)
    return sock


def serve(
    path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    open_browser: bool = True,
    clips: bool = False,
    task: str | None = None,
    rater: str | None = None,
    fps: float = 15.0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the labelling page for ``path`` until interrupted (Ctrl+C).

    Args:
        path: dataset folder or run folder (checked by the caller).
        host: address to bind; anything but loopback exposes the labels to the network.
        port: TCP port (0 picks a free one).
        open_browser: open the page in the default browser once the server listens.
        clips, task, rater, fps: see :func:`vlm_reward.labelling.app.create_app`.
        on_ready: optional callable, called with the page URL once the server listens.

    Raises:
        ConfigError: the address cannot be bound (nothing has been written then).
    """
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DependencyNotInstalled("uvicorn", "web", "The labelling app") from exc
    from vlm_reward.labelling.app import create_app

    sock = bind_socket(host, port)
    try:
        bound_port = int(sock.getsockname()[1])
        # Loopback: answer only Host headers naming localhost (defeats DNS rebinding). A
        # wildcard bind is an explicit choice to be reachable under any name.
        allowed = ["127.0.0.1", "localhost", "::1", "[::1]", host, f"[{host}]"]
        if host in ("0.0.0.0", "::"):
            allowed = ["*"]
        app = create_app(path, clips=clips, task=task, rater=rater, fps=fps,
                         allowed_hosts=allowed)
        config = uvicorn.Config(app, host=host, port=bound_port, log_level="warning",
                                access_log=False)
        server = uvicorn.Server(config)

        def announce() -> None:
            # Wait for the server to accept connections, then tell the user / open the page.
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if not server.started:
                return
            shown = f"[{host}]" if ":" in host else host
            url = f"http://{shown}:{bound_port}/"
            print(f"labelling {Path(path)} at {url}  (Ctrl+C to stop)", flush=True)
            if on_ready is not None:
                on_ready(url)
            if open_browser:
                webbrowser.open(url)

        threading.Thread(target=announce, daemon=True, name="label-announce").start()
        server.run(sockets=[sock])
    finally:
        sock.close()
