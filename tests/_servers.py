"""Real servers for the tests, started from Debian packages in temporary directories (no systemd):

- `PostgresServer`: `initdb` + `pg_ctl` on a free loopback port, password authentication (so a wrong
  password is a real server-side refusal), fsync off (a throw-away cluster). Runs as the `postgres`
  user when the tests run as root (initdb refuses root).
- `SlurmCluster`: `munged` with a freshly generated key, then `slurmctld` and `slurmd` on localhost
  with a slurm.conf written here from the node's real CPU/memory (`slurmd -C`), state and logs in a
  temp dir, one partition `debug`. Client commands find it through `$SLURM_CONF`.

Each start function returns None plus a reason when the packages are missing, so a fixture can skip
with that reason. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

PG_PACKAGES_HINT = "apt-get install postgresql"
SLURM_PACKAGES_HINT = "apt-get install slurmctld slurmd slurm-client munge"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(pred, timeout: float, what: str, log: Optional[Path] = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s\n{tail}")


# --- PostgreSQL --------------------------------------------------------------------------------------

def _pg_bindir() -> Optional[Path]:
    """The newest /usr/lib/postgresql/N/bin with initdb (Debian keeps server binaries off PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PostgresServer:
    bindir: Path
    datadir: Path
    port: int
    user: str
    password: str
    run_as: Optional[str]  # OS user that owns the cluster (None: ourselves)
    host: str = "127.0.0.1"
    _counter: int = 0

    def url(self, database: str = "postgres", *, password: Optional[str] = None, port: Optional[int] = None) -> str:
        pw = self.password if password is None else password
        return f"postgresql://{self.user}:{pw}@{self.host}:{port or self.port}/{database}"

    def _cmd(self, *args: str) -> list[str]:
        return (["runuser", "-u", self.run_as, "--"] if self.run_as else []) + list(args)

    def create_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        self._counter += 1
        name = f"{prefix}_{os.getpid()}_{self._counter}_{secrets.token_hex(3)}"
        with psycopg.connect(self.url().replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"),
                       capture_output=True, timeout=60)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres() -> tuple[Optional[PostgresServer], str]:
    """(server, "") or (None, why not)."""
    bindir = _pg_bindir()
    if bindir is None:
        return None, f"PostgreSQL server binaries not found ({PG_PACKAGES_HINT})"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, "psycopg (v3) is not installed (pip install 'xlt-claims[postgres]')"
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no 'postgres' user to own the test cluster"
        run_as = "postgres"
    base = Path(tempfile.mkdtemp(prefix="xlt-pg-"))
    datadir = base / "data"
    pwfile = base / "pw"
    password = secrets.token_hex(8)
    pwfile.write_text(password + "\n")
    if run_as:
        ent = pwd.getpwnam(run_as)
        os.chown(base, ent.pw_uid, ent.pw_gid)
        os.chown(pwfile, ent.pw_uid, ent.pw_gid)
    server = PostgresServer(bindir, datadir, free_port(), "xlt", password, run_as)
    r = subprocess.run(server._cmd(str(bindir / "initdb"), "-D", str(datadir), "-U", "xlt", f"--pwfile={pwfile}",
                                   "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"),
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {r.stderr[-2000:]}")
    log = base / "server.log"
    opts = (f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    r = subprocess.run(server._cmd(str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(log), "-o", opts, "-w",
                                   "-t", "60", "start"), capture_output=True, text=True, timeout=90)
    if r.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {r.stderr[-1000:]}\n{tail}")
    return server, ""


# --- SLURM -------------------------------------------------------------------------------------------

@dataclass
class SlurmCluster:
    base: Path
    conf: Path
    partition: str
    node: str
    cpus: int
    procs: list[subprocess.Popen] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def log_tail(self, n: int = 3000) -> str:
        out = []
        for name in ("slurmctld.log", "slurmd.log"):
            p = self.base / name
            if p.exists():
                out.append(f"--- {name}\n{p.read_text(errors='replace')[-n:]}")
        return "\n".join(out)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=check,
                              env={**os.environ, **self.env()})

    def idle(self) -> bool:
        r = self.run("sinfo", "-h", "-N", "-o", "%T", check=False)
        return r.returncode == 0 and r.stdout.strip().rstrip("*") in ("idle", "mixed", "allocated")

    def cancel_all(self) -> None:
        self.run("scancel", "--full", "-p", self.partition, check=False)

    def stop(self) -> None:
        self.cancel_all()
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def _node_hardware() -> dict[str, str]:
    """The node line `slurmd -C` prints (real CPUs, sockets, cores, threads, memory)."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30).stdout
    first = out.splitlines()[0] if out else ""
    return dict(kv.split("=", 1) for kv in first.split() if "=" in kv)


def start_slurm() -> tuple[Optional[SlurmCluster], str]:
    missing = [b for b in ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
               if not shutil.which(b)]
    if missing:
        return None, f"SLURM/munge binaries missing: {', '.join(missing)} ({SLURM_PACKAGES_HINT})"
    if os.geteuid() != 0:
        return None, "a one-node SLURM cluster needs root (slurmd launches the jobs)"
    base = Path(tempfile.mkdtemp(prefix="xlt-slurm-"))
    os.chmod(base, 0o755)
    for d in ("state", "spool", "munge"):
        (base / d).mkdir()
    os.chmod(base / "munge", 0o700)
    key = base / "munge" / "munge.key"
    subprocess.run(["mungekey", "-c", "-k", str(key)], check=True, capture_output=True, timeout=30)
    os.chmod(key, 0o600)
    sock = base / "munge" / "munge.socket"
    procs: list[subprocess.Popen] = []
    procs.append(subprocess.Popen(
        ["munged", "-F", "--force", f"--socket={sock}", f"--key-file={key}", f"--log-file={base / 'munged.log'}",
         f"--pid-file={base / 'munged.pid'}", f"--seed-file={base / 'munge' / 'seed'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True))
    hw = _node_hardware()
    node = hw.get("NodeName") or socket.gethostname()
    cpus = int(hw.get("CPUs", os.cpu_count() or 1))
    node_line = " ".join(f"{k}={hw[k]}" for k in ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket",
                                                   "ThreadsPerCore", "RealMemory") if k in hw)
    conf = base / "slurm.conf"
    conf.write_text(f"""# written by tests/_servers.py for one test session
ClusterName=xlttest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={base / 'state'}
SlurmdSpoolDir={base / 'spool'}
SlurmctldPidFile={base / 'slurmctld.pid'}
SlurmdPidFile={base / 'slurmd.pid'}
SlurmctldLogFile={base / 'slurmctld.log'}
SlurmdLogFile={base / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName={node} NodeAddr=127.0.0.1 {node_line} State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    _wait_for(sock.exists, 20, "munged", base / "munged.log")
    procs.append(subprocess.Popen(["slurmctld", "-D", "-i", "-f", str(conf)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT, start_new_session=True))
    procs.append(subprocess.Popen(["slurmd", "-D", "-f", str(conf)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT, start_new_session=True))
    cluster = SlurmCluster(base, conf, "debug", node, cpus, procs)
    try:
        _wait_for(cluster.idle, 60, "slurmctld/slurmd (node idle)", base / "slurmctld.log")
    except RuntimeError:
        tail = cluster.log_tail()
        cluster.stop()
        raise RuntimeError(f"the one-node SLURM cluster did not come up:\n{tail}")
    return cluster, ""
