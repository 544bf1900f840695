"""A local Kubernetes v1.36 control plane for the cluster tests, and `make cluster-up`/`-down`.

The binaries come from `make cluster` (Kubernetes' own Go modules, built by the Go module in this
folder into build/cluster/bin/): embedded etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok (the simulated kubelet) and kubectl. This module starts them with the
authorizers and admission plugins a DOKS cluster runs, creates the simulated DOKS nodes of
nodes.yaml and installs the CRDs the library targets. Standard library only; `openssl` makes the
certificates.

    python tests/cluster/controlplane.py up   [--dir build/cluster]   # start, leave running
    python tests/cluster/controlplane.py down [--dir build/cluster]   # stop everything it started
    python tests/cluster/controlplane.py status [--dir build/cluster]

The pytest fixture (tests/cluster/conftest.py) uses the same `ControlPlane` class, in a temporary
directory, and stops it at the end of the session.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = ROOT / "build" / "cluster" / "bin"
NODES = HERE / "nodes.yaml"
#: CRDs the package carries (validate uses them), then the test-only copies (Cilium's policies,
#: llm-d's InferenceModelRewrite and the legacy inference.networking.x-k8s.io group).
CRD_DIRS = (ROOT / "src" / "vllm_nfs_constructs" / "schemas", HERE / "crds")
#: The nodes kwok manages carry this annotation (kwok's documented selector).
KWOK_ANNOTATION = "kwok.x-k8s.io/node=fake"
#: Pod IPs come from a loopback range, so a local process can listen where a pod "is".
POD_CIDR = "127.42.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
#: kwok's own Stage files, read from its module (not copied): node start and heartbeat with a
#: lease, pods Ready (init containers done, native sidecars running), Job pods Succeeded, deletion.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)


class ClusterError(RuntimeError):
    """The control plane could not be built, started or reached."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: Sequence[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


def kwok_module_dir() -> Path:
    """Where the Go module cache holds the pinned kwok (its Stage files live there)."""
    out = _run(["go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok"], cwd=HERE)
    path = Path(out.stdout.strip())
    if not path.is_dir():
        raise ClusterError(
            f"kwok's module is not in the Go module cache ({path}): run make cluster"
        )
    return path


@dataclass
class Pki:
    """A CA, the API server's serving certificate, client certificates and the SA signing key."""

    dir: Path

    def _openssl(self, *args: str) -> None:
        _run(["openssl", *args], cwd=self.dir)

    def _key(self, name: str) -> None:
        self._openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key")

    def _sign(self, name: str, subject: str, ext: str) -> None:
        self._key(name)
        self._openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr")
        (self.dir / f"{name}.ext").write_text(ext)
        self._openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "30", "-sha256", "-extfile", f"{name}.ext",
            "-out", f"{name}.crt",
        )  # fmt: skip

    def create(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._key("ca")
        self._openssl(
            "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=vllm-nfs-test-ca",
            "-days", "30", "-sha256", "-out", "ca.crt",
        )  # fmt: skip
        self._sign(
            "apiserver",
            "/CN=kube-apiserver",
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
            "DNS:kubernetes.default.svc.cluster.local\n",
        )
        client = (
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n"
        )
        self._sign("admin", "/O=system:masters/CN=kubernetes-admin", client)
        self._sign("controller-manager", "/CN=system:kube-controller-manager", client)
        self._sign("scheduler", "/CN=system:kube-scheduler", client)
        self._sign("kwok", "/O=system:masters/CN=kwok-controller", client)
        self._key("sa")
        self._openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub")


@dataclass
class ControlPlane:
    """One control plane whose state, logs and kubeconfigs live under `dir`."""

    dir: Path
    bin: Path = BIN
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # -- paths -------------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.dir / "pki"

    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    def _binary(self, name: str) -> str:
        path = self.bin / name
        if not os.access(path, os.X_OK):
            raise ClusterError(f"{path} is missing: build the control plane first (make cluster)")
        return str(path)

    # -- kubeconfigs -------------------------------------------------------------------------
    def write_kubeconfig(
        self, path: Path, *, cert: str | None = None, token: str | None = None
    ) -> Path:
        """A kubeconfig for this cluster authenticated by a client certificate or a bearer token."""
        user: dict[str, str] = {}
        if cert:
            user = {
                "client-certificate": str(self.pki / f"{cert}.crt"),
                "client-key": str(self.pki / f"{cert}.key"),
            }
        if token:
            user = {"token": token}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "test",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority": str(self.pki / "ca.crt"),
                    },
                }
            ],
            "users": [{"name": "user", "user": user}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "user"}}],
            "current-context": "test",
        }
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path

    # -- processes ---------------------------------------------------------------------------
    def _spawn(self, name: str, args: Sequence[str]) -> None:
        log = open(self.dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 (the child owns it)
        binary = "etcd" if name == "etcd" else name
        proc = subprocess.Popen(
            [self._binary(binary), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.procs[name] = proc
        self._save_state()

    def _save_state(self) -> None:
        state = {
            "ports": self.ports,
            "pids": {n: p.pid for n, p in self.procs.items()},
            "bin": str(self.bin),
        }
        self.state_file.write_text(json.dumps(state, indent=2))

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.dir / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]
                raise ClusterError(f"{name} exited with {proc.returncode}:\n{tail}")

    def _wait(self, what: str, probe: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if probe():  # type: ignore[operator]
                return
            time.sleep(0.2)
        raise ClusterError(f"{what} not ready within {timeout:.0f} s (logs in {self.dir / 'logs'})")

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        check: bool = True,
        stdin: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [self._binary("kubectl"), "--kubeconfig", str(kubeconfig or self.kubeconfig), *args]
        res = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and res.returncode != 0:
            raise ClusterError(
                f"kubectl {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
            )
        return res

    def _ready(self) -> bool:
        res = self.kubectl("get", "--raw", "/readyz", check=False, timeout=10)
        return res.returncode == 0 and res.stdout.strip() == "ok"

    def start(self, timeout: float = 90) -> None:
        """Start etcd, the API server, controllers, scheduler and kwok; add the nodes and CRDs."""
        if shutil.which("openssl") is None:
            raise ClusterError("openssl is needed to make the test certificates")
        for d in ("logs", "etcd"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        if not (self.pki / "ca.crt").exists():
            Pki(self.pki).create()
        self.ports = {n: free_port() for n in ("etcd", "etcd-peer", "apiserver")}
        try:
            self._start_components(timeout)
        except BaseException:
            self.stop()
            raise

    def _start_components(self, timeout: float) -> None:
        etcd_url = f"http://127.0.0.1:{self.ports['etcd']}"
        self._spawn(
            "etcd",
            [
                "--data-dir", str(self.dir / "etcd"),
                "--client-url", etcd_url,
                "--peer-url", f"http://127.0.0.1:{self.ports['etcd-peer']}",
            ],
        )  # fmt: skip
        self._wait("etcd", lambda: _port_open(self.ports["etcd"]), timeout)
        self.write_kubeconfig(self.kubeconfig, cert="admin")
        self._spawn("kube-apiserver", self._apiserver_args(etcd_url))
        self._wait("kube-apiserver", self._ready, timeout)
        cm = self.write_kubeconfig(
            self.dir / "controller-manager.kubeconfig", cert="controller-manager"
        )
        self._spawn(
            "kube-controller-manager",
            [
                "--kubeconfig", str(cm),
                "--authentication-kubeconfig", str(cm),
                "--authorization-kubeconfig", str(cm),
                "--secure-port", "0",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                "--service-account-private-key-file", str(self.pki / "sa.key"),
                "--root-ca-file", str(self.pki / "ca.crt"),
                "--controllers", "*",
                "--service-cluster-ip-range", SERVICE_CIDR,
                # A test cluster reacts fast: garbage collection and Job TTLs are what is tested.
                "--concurrent-deployment-syncs", "10",
                "--node-monitor-grace-period", "60s",
                "-v", "1",
            ],
        )  # fmt: skip
        sched = self.write_kubeconfig(self.dir / "scheduler.kubeconfig", cert="scheduler")
        self._spawn(
            "kube-scheduler",
            [
                "--kubeconfig", str(sched),
                "--authentication-kubeconfig", str(sched),
                "--authorization-kubeconfig", str(sched),
                "--secure-port", "0",
                "--leader-elect=false",
                "-v", "1",
            ],
        )  # fmt: skip
        kwok_cfg = self.write_kubeconfig(self.dir / "kwok.kubeconfig", cert="kwok")
        stages = kwok_module_dir()
        self._spawn(
            "kwok",
            [
                "--kubeconfig", str(kwok_cfg),
                "--manage-nodes-with-annotation-selector", KWOK_ANNOTATION,
                "--cidr", POD_CIDR,
                "--node-lease-duration-seconds", "40",
                "--server-address", f"127.0.0.1:{free_port()}",
                *[a for s in KWOK_STAGES for a in ("--config", str(stages / s))],
            ],
        )  # fmt: skip
        self.install_crds()
        self.add_nodes()

    def _apiserver_args(self, etcd_url: str) -> list[str]:
        pki = self.pki
        return [
            "--etcd-servers", etcd_url,
            "--bind-address", "127.0.0.1",
            "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.ports["apiserver"]),
            "--cert-dir", str(pki),
            "--tls-cert-file", str(pki / "apiserver.crt"),
            "--tls-private-key-file", str(pki / "apiserver.key"),
            "--client-ca-file", str(pki / "ca.crt"),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(pki / "sa.pub"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--service-cluster-ip-range", SERVICE_CIDR,
            # What a DOKS cluster runs: the Node and RBAC authorizers; the default admission
            # plugins (NamespaceLifecycle, ServiceAccount, PodSecurity, Priority,
            # ValidatingAdmissionPolicy, ResourceQuota, webhooks, ...) plus NodeRestriction.
            "--authorization-mode", "Node,RBAC",
            "--enable-admission-plugins", "NodeRestriction",
            "--allow-privileged=true",
            "--profiling=false",
            "--enable-priority-and-fairness=false",
            "-v", "1",
        ]  # fmt: skip

    def install_crds(self) -> None:
        """Every CRD the package carries, then the test-only copies of the ones it does not."""
        seen: set[str] = set()
        files: list[str] = []
        for base in CRD_DIRS:
            for path in sorted(base.rglob("*.yaml")):
                text = path.read_text()
                if "kind: CustomResourceDefinition" not in text:
                    continue
                name = path.stem.split("_", 1)[-1] + "." + path.stem.split("_", 1)[0]
                if name in seen:
                    continue
                seen.add(name)
                files.append(str(path))
        args = [a for f in files for a in ("-f", f)]
        self.kubectl("apply", "--server-side", "--field-manager=test-setup", *args)
        self._wait_condition("crd", "Established")

    def add_nodes(self) -> None:
        self.kubectl("create", "-f", str(NODES))
        self._wait_condition("node", "Ready")

    def _wait_condition(self, kind: str, condition: str, timeout: float = 60) -> None:
        """Every object of `kind` has `condition` True. (`kubectl wait` gives up, rather than
        waits, on an object that has no conditions yet, as a node before kwok's first update.)"""
        template = (
            "{range .items[*]}{.metadata.name}="
            f'{{.status.conditions[?(@.type=="{condition}")].status}}{{"\\n"}}{{end}}'
        )

        def ready() -> bool:
            res = self.kubectl("get", kind, "-o", f"jsonpath={template}", check=False)
            lines = [line for line in res.stdout.splitlines() if line]
            return (
                res.returncode == 0
                and bool(lines)
                and all(line.endswith("=True") for line in lines)
            )

        self._wait(f"{kind} {condition}", ready, timeout)

    def stop(self, timeout: float = 15) -> None:
        """Stop every component this object started (newest first); nothing keeps running."""
        for name in reversed(list(self.procs)):
            _terminate(self.procs[name].pid, timeout)
            with contextlib.suppress(Exception):
                self.procs[name].wait(timeout=1)
        self.procs.clear()
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `timeout`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline and _alive(pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        if not _alive(pid):
            return


def _ours(pid: int, bin_dir: str) -> bool:
    """The pid still runs one of our binaries (a reused pid is never killed)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return exe.startswith(bin_dir.rstrip("/") + "/")


def down(directory: Path) -> list[str]:
    """Stop what `up` left running in `directory` (by its state file); returns what was stopped."""
    state_file = directory / "state.json"
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    stopped = []
    for name in reversed(COMPONENTS):
        pid = state.get("pids", {}).get(name)
        if isinstance(pid, int) and _ours(pid, state.get("bin", str(BIN))):
            _terminate(pid, 15)
            stopped.append(name)
    state_file.unlink()
    return stopped


@contextlib.contextmanager
def running(directory: Path) -> Iterator[ControlPlane]:
    cp = ControlPlane(directory)
    cp.start()
    try:
        yield cp
    finally:
        cp.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="controlplane", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--dir", type=Path, default=ROOT / "build" / "cluster")
    args = parser.parse_args(argv)
    directory: Path = args.dir.resolve()
    try:
        if args.command == "down":
            stopped = down(directory)
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
            return 0
        if args.command == "status":
            state = directory / "state.json"
            if not state.exists():
                print("not running")
                return 1
            print(state.read_text())
            return 0
        if (directory / "state.json").exists():
            down(directory)
        for stale in ("etcd", "pki", "logs"):
            shutil.rmtree(directory / stale, ignore_errors=True)
        started = time.monotonic()
        cp = ControlPlane(directory)
        cp.start()
        # `up` leaves the components running for `make cluster-down`.
        cp.procs.clear()
        print(f"control plane ready in {time.monotonic() - started:.1f} s")
        print(f"export KUBECONFIG={cp.kubeconfig}")
        print(f"{cp.bin / 'kubectl'} get nodes")
        return 0
    except (ClusterError, OSError, subprocess.SubprocessError) as exc:
        print(f"controlplane {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
