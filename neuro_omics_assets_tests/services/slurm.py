"""A single-node SLURM cluster for the tests (root, Debian 12, no systemd), after
../shared/reference/slurm-single-node-up.sh, with every port free-chosen and nothing written outside ``root``:

munged (own socket and key) -> MariaDB (accounting store) -> slurmdbd -> slurmctld -> slurmd with two fake
GPUs (character devices, so ``--gres=gpu:1`` scheduling is real) -> sshd on 127.0.0.1 with a generated key
(dagster-slurm always submits over SSH). ``stop`` ends each daemon by its recorded pid, newest first.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .processes import (
    LOCALHOST,
    children,
    free_port,
    log_tail,
    read_pid,
    run,
    stop_pid,
    wait_for_port,
    wait_until,
)

DAEMONS = ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd", "sshd")
SBIN = Path("/usr/sbin")
FAKE_GPUS = 2
_DB_PASSWORD = "slurm-test"


def missing_daemons() -> list[str]:
    """The cluster's daemons that are not installed (``make services`` installs them)."""
    return [name for name in DAEMONS if not (SBIN / name).exists() and shutil.which(name) is None]


@dataclass
class SlurmCluster:
    """A running cluster; ``ssh_*`` is what dagster-slurm's SSHConnectionResource needs."""

    root: Path
    ssh_port: int
    pid_files: list[Path] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def ssh_key(self) -> Path:
        return self.root / "ssh" / "id_test"

    @property
    def known_hosts(self) -> Path:
        return self.root / "ssh" / "known_hosts"

    @property
    def control_dir(self) -> Path:
        """Where dagster-slurm's SSH ControlMaster sockets go (DAGSTER_SLURM_SSH_CONTROL_DIR)."""
        return self.root / "ssh" / "cm"

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def command(self, *args: str) -> str:
        """Run a SLURM client command (squeue, sacct, ...) here; its stdout."""
        return run(list(args), env=self.env()).stdout

    def stop(self) -> None:
        """Cancel what is still queued or running, close dagster-slurm's SSH masters, stop every daemon."""
        try:
            if read_pid(self.root / "slurmctld.pid") is not None:
                subprocess.run(["scancel", "--full", "--user=root"], env=self.env(), capture_output=True)
                wait_until(lambda: not subprocess.run(["squeue", "-h"], env=self.env(), capture_output=True,
                                                      text=True).stdout.strip(), 15, "jobs cancelled")
        finally:
            for socket_path in self.control_dir.glob("*"):
                subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "dummy"], capture_output=True)
            # sshd's per-connection processes outlive the listener and keep dagster-slurm's SSH masters (whose
            # sockets a later master may have replaced) connected: end them, and the masters exit.
            for child in children(read_pid(self.root / "ssh" / "sshd.pid")):
                stop_pid(child, grace_s=2.0)
            for pid_file in reversed(self.pid_files):
                stop_pid(read_pid(pid_file), grace_s=2.0)


def start_slurm(root: Path) -> SlurmCluster:
    """Start the whole cluster under ``root`` (a short path: it holds UNIX sockets; its parents must be
    traversable by the mysql user); stops what started on failure."""
    if missing := missing_daemons():
        raise RuntimeError(f"SLURM test cluster: {', '.join(missing)} not installed; run `make services`.")
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the mysql user traverses it
    for sub in ("state", "spool", "log", "db", "ssh", "munge"):
        (root / sub).mkdir(exist_ok=True)
    cluster = SlurmCluster(root=root, ssh_port=free_port())
    try:
        _start(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start(cluster: SlurmCluster) -> None:
    root = cluster.root
    ports = {name: free_port() for name in ("mysql", "dbd", "ctld", "slurmd")}
    _start_munge(cluster)
    _start_mariadb(cluster, ports["mysql"])
    _write_configs(root, ports)
    env = cluster.env()
    run([str(SBIN / "slurmdbd")], env=env)
    cluster.pid_files.append(root / "slurmdbd.pid")
    wait_for_port(ports["dbd"], 30, "slurmdbd", root / "log" / "slurmdbd.log")
    for daemon in ("slurmctld", "slurmd"):
        run([str(SBIN / daemon), "-f", str(cluster.conf)], env=env)
        cluster.pid_files.append(root / f"{daemon}.pid")
    wait_until(lambda: "idle" in subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True,
                                               text=True).stdout, 60, "slurm node idle", root / "log" / "slurmd.log")
    _start_sshd(cluster)


def _start_munge(cluster: SlurmCluster) -> None:
    munge = cluster.root / "munge"
    key = munge / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    run([str(SBIN / "munged"), f"--socket={munge / 'munge.socket'}", f"--key-file={key}",
         f"--pid-file={munge / 'munged.pid'}", f"--log-file={cluster.root / 'log' / 'munged.log'}",
         f"--seed-file={munge / 'munged.seed'}", "--force"])
    cluster.pid_files.append(munge / "munged.pid")


def _start_mariadb(cluster: SlurmCluster, port: int) -> None:
    db = cluster.root / "db"
    shutil.chown(db, "mysql", "mysql")
    run(["mariadb-install-db", "--user=mysql", f"--datadir={db / 'data'}", "--auth-root-authentication-method=normal",
         "--skip-test-db"])
    log = cluster.root / "log" / "mariadb.err"
    subprocess.Popen(["mariadbd", "--user=mysql", f"--datadir={db / 'data'}", f"--socket={db / 'mysqld.sock'}",
                      f"--pid-file={db / 'mysqld.pid'}", f"--port={port}", f"--bind-address={LOCALHOST}",
                      "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0", f"--log-error={log}"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cluster.pid_files.append(db / "mysqld.pid")
    wait_for_port(port, 60, "MariaDB", log)
    wait_until(lambda: read_pid(db / "mysqld.pid") is not None, 10, "MariaDB pid file", log)
    grants = (f"CREATE DATABASE IF NOT EXISTS slurm_acct_db; "
              f"CREATE USER IF NOT EXISTS 'slurm'@'{LOCALHOST}' IDENTIFIED BY '{_DB_PASSWORD}'; "
              f"GRANT ALL ON slurm_acct_db.* TO 'slurm'@'{LOCALHOST}'; FLUSH PRIVILEGES;")
    run(["mariadb", f"--socket={db / 'mysqld.sock'}", "-u", "root", "-e", grants])


def _write_configs(root: Path, ports: dict[str, int]) -> None:
    host = socket.gethostname().split(".")[0]
    auth = f"AuthInfo=socket={root / 'munge' / 'munge.socket'}"
    gres_lines = []
    for index in range(FAKE_GPUS):
        device = root / f"fakegpu{index}"
        if not device.exists():
            os.mknod(device, 0o666 | 0o020000, os.makedev(1, 3))  # a character device like /dev/null
        gres_lines.append(f"NodeName={host} Name=gpu File={device}")
    (root / "gres.conf").write_text("\n".join(gres_lines) + "\n")
    (root / "slurm.conf").write_text(f"""ClusterName=test
SlurmctldHost={host}({LOCALHOST})
SlurmctldPort={ports['ctld']}
SlurmdPort={ports['slurmd']}
SlurmUser=root
AuthType=auth/munge
{auth}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost={LOCALHOST}
AccountingStoragePort={ports['dbd']}
AccountingStoragePass={root / 'munge' / 'munge.socket'}
MailProg=/bin/true
AccountingStorageTRES=gres/gpu
ReturnToService=2
StateSaveLocation={root / 'state'}
SlurmdSpoolDir={root / 'spool'}
SlurmctldPidFile={root / 'slurmctld.pid'}
SlurmdPidFile={root / 'slurmd.pid'}
SlurmctldLogFile={root / 'log' / 'slurmctld.log'}
SlurmdLogFile={root / 'log' / 'slurmd.log'}
NodeName={host} NodeAddr={LOCALHOST} CPUs={os.cpu_count()} RealMemory=4000 Gres=gpu:{FAKE_GPUS} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    dbd = root / "slurmdbd.conf"  # slurmdbd reads the slurmdbd.conf beside SLURM_CONF
    dbd.write_text(f"""AuthType=auth/munge
{auth}
DbdHost=localhost
DbdAddr={LOCALHOST}
DbdPort={ports['dbd']}
SlurmUser=root
PidFile={root / 'slurmdbd.pid'}
LogFile={root / 'log' / 'slurmdbd.log'}
StorageType=accounting_storage/mysql
StorageHost={LOCALHOST}
StoragePort={ports['mysql']}
StorageUser=slurm
StoragePass={_DB_PASSWORD}
StorageLoc=slurm_acct_db
""")
    dbd.chmod(0o600)


def _start_sshd(cluster: SlurmCluster) -> None:
    ssh = cluster.root / "ssh"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / "hostkey")])
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(cluster.ssh_key)])
    authorized = ssh / "authorized_keys"
    shutil.copyfile(cluster.ssh_key.with_suffix(".pub"), authorized)
    authorized.chmod(0o600)
    cluster.control_dir.mkdir(exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    (ssh / "sshd_config").write_text(f"""Port {cluster.ssh_port}
ListenAddress {LOCALHOST}
HostKey {ssh / 'hostkey'}
PidFile {ssh / 'sshd.pid'}
AuthorizedKeysFile {authorized}
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
MaxSessions 50
MaxStartups 50:30:100
Subsystem sftp /usr/lib/openssh/sftp-server
SetEnv SLURM_CONF={cluster.conf}
""")
    log = cluster.root / "log" / "sshd.log"
    run([str(SBIN / "sshd"), "-f", str(ssh / "sshd_config"), "-E", str(log)])
    cluster.pid_files.append(ssh / "sshd.pid")
    wait_for_port(cluster.ssh_port, 20, "sshd", log)
    scan = run(["ssh-keyscan", "-p", str(cluster.ssh_port), LOCALHOST])
    cluster.known_hosts.write_text(scan.stdout)
    check = subprocess.run(["ssh", "-p", str(cluster.ssh_port), "-i", str(cluster.ssh_key), "-o", "BatchMode=yes",
                            "-o", f"UserKnownHostsFile={cluster.known_hosts}", f"root@{LOCALHOST}", "sinfo -h -o %T"],
                           capture_output=True, text=True, timeout=30)
    if "idle" not in check.stdout:
        raise RuntimeError(f"sinfo over ssh gave {check.stdout!r} {check.stderr!r}{log_tail(log)}")
