"""One launcher for the serving programs (//py:serve, //py:serve_ray), used by the server tests and
the load benchmark: starts one on loopback, reads its start-up line for the port, and stops it with
SIGTERM (as an orchestrator would), returning its exit status."""
import os
import re
import signal
import socket
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVE = os.path.join(ROOT, "py", "serve")
SERVE_RAY = os.path.join(ROOT, "py", "serve_ray")
_STARTED = re.compile(r"(https?)://127\.0\.0\.1:(\d+)/")
_GRPC = re.compile(r"gRPC on 127\.0\.0\.1:(\d+)")


class StartError(RuntimeError):
    """The server exited, or printed no start-up line; the message ends with its stderr."""


def free_port():
    """A loopback port free now (for programs that need one named: Ray Serve cannot take 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`Server(SERVE, "--model", m, "--workers", "2")`: the program with `flags`, on a free loopback
    port (`--port 0` unless the flags name one). `.port`, `.url`, `.process`, `.grpc_port` (with
    --grpc_port, else None); `.stop()` -> status."""

    def __init__(self, program, *flags, env=None):
        flags = list(flags) if "--port" in flags else ["--port", "0", *flags]
        env = dict(env or os.environ, RUNFILES_DIR=os.path.dirname(ROOT))
        env.pop("BUILD_WORKING_DIRECTORY", None)  # paths are given absolute
        self.process = subprocess.Popen([program, *flags], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline()  # "Serving ... at http://127.0.0.1:PORT/ ..."
        match = _STARTED.search(line)
        if not match:
            self.process.kill()
            raise StartError("%s did not start (%r): %s" % (os.path.basename(program), line,
                                                            self.process.stderr.read().strip()[-1000:]))
        self.port = int(match.group(2))
        grpc = _GRPC.search(line)  # with --grpc_port
        self.grpc_port = int(grpc.group(1)) if grpc else None
        self.url = "%s://127.0.0.1:%d" % (match.group(1), self.port)
        self.stderr = ""

    def stop(self, timeout=60):
        """SIGTERM, then the exit status ("killed" if it did not exit within `timeout` s); its
        stderr is then in `.stderr`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            status = "killed"
        self.stderr = self.process.stderr.read()
        return status

    def rss_mb(self):
        with open("/proc/%d/status" % self.process.pid) as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

    def cpu_s(self):
        with open("/proc/%d/stat" % self.process.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
