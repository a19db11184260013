"""Joining the Ray cluster as its driver, or a one-line reason within ``connect_timeout_s``.

``ray.init`` against an address nobody answers retries for a long time; the head must not hang silently at
start-up. A TCP connect to the GCS address first answers "refused" / "unreachable" in milliseconds; then
``ray.init`` runs in a thread and is waited for up to the timeout."""

from __future__ import annotations

import signal
import socket
import threading
import time

from shopwatch.core.errors import Unavailable


class ClusterUnreachable(Unavailable):
    pass


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (the GCS address ``ray start --head`` prints), ``ray://`` not accepted (a client, not a
    driver)."""
    if "://" in address:
        raise ClusterUnreachable(
            f"expected the Ray GCS address host:port (as `ray start --head` prints it), found {address!r}"
        )
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClusterUnreachable(f"expected a Ray address host:port, found {address!r}")
    return host, int(port)


def connect(address: str, namespace: str, timeout_s: float) -> None:
    host, port = split_address(address)
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ClusterUnreachable(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} (is `ray start --head` running there?)"
        ) from None
    import ray  # only here: serve without --ray never loads Ray

    failure: list[BaseException] = []

    def init() -> None:
        try:
            ray.init(address=address, namespace=namespace, log_to_driver=False)
        except BaseException as exc:  # handed back: to the thread waiting below
            failure.append(exc)

    thread = threading.Thread(target=init, name="ray-init", daemon=True)
    thread.start()
    thread.join(max(0.1, timeout_s - (time.monotonic() - started)))
    if thread.is_alive():
        raise ClusterUnreachable(
            f"the Ray cluster at {address} did not accept this driver within {timeout_s:.0f} s"
            " (a Ray GCS there? the same Ray version and auth token as on the head?)"
        )
    if failure:
        raise ClusterUnreachable(f"cannot join the Ray cluster at {address}: {failure[0]}") from None


def reclaim_signals() -> None:
    """Give the signals back to Python after ``connect`` (main thread only).

    Joining the cluster starts Ray's core worker, which installs its own C-level handler for SIGTERM (it prints
    a stack trace and ends the process at once): ``serve --ray`` then died on SIGTERM without its graceful stop.
    Python still records the handler installed before (the event loop's), and installing that again puts it
    back in front. Off the main thread (a test's event loop) there is nothing to give back."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(sig)
        if handler is not None:
            signal.signal(sig, handler)
