"""Execute notebooks headlessly with the tslab kernel (nbclient), one kernel per notebook.

Used by `npm run reproduce` (full mode, outputs written back into the notebooks) and by the test
suite (smoke mode, outputs discarded). Written back without timing metadata, with stable cell ids
and execution counts from 1, so a rerun with the same code, seeds and thread count changes only the
outputs that report or depend on elapsed time (progress bars' final lines, "600 steps in 24.7 s",
"full run: 116 s", 02's speed measurements): those change on every rerun. tslab reports a failing cell only on its stderr stream, so on
failure this prints the failing cell's source and that stream.

Stopping: SIGINT (Ctrl-C), SIGHUP (the terminal closed) and SIGTERM stop the kernel (its whole
process group), leave the notebook being run as it was, and print one line ("interrupted in 02,
cell 14; nothing written"); the exit status is 128 + the signal's number. On Linux the kernel also
gets SIGTERM if this runner dies without cleaning up (SIGKILL), and this runner gets SIGTERM if its
own parent (`npm run reproduce`) does: no kernel outlives its run. Notebooks are written through a
temporary file in the same folder and a rename, so a kill at any moment leaves the old notebook or
the new one, never a truncated file.

usage: run_notebooks.py [--smoke] [--write] [--timeout S] [--json FILE] NOTEBOOK...
"""
import signal
import sys

# A signal ignored from the start (nohup, a background job) stays ignored.
STOP_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM) if signal.getsignal(s) != signal.SIG_IGN)


def _exit_on_signal(signum, _frame):
    # Until main() takes over nothing has started: stop at once (no traceback from the imports).
    sys.stderr.write("interrupted before any notebook started; nothing written\n")
    sys.exit(128 + signum)


for _sig in STOP_SIGNALS:
    signal.signal(_sig, _exit_on_signal)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError  # noqa: E402


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived. A KeyboardInterrupt, so asyncio and nbclient pass it straight up."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum, _frame):
    for sig in STOP_SIGNALS:  # one stop is enough: the signal sent to the whole group, or again, is ignored
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


class _LoopWithoutSignalHandlers(asyncio.SelectorEventLoop):
    """nbclient adds SIGINT and SIGTERM handlers to its event loop that shut the kernel down behind
    the runner's back and end in a long traceback (and none for SIGHUP). This runner handles the
    three signals itself; nbclient treats the RuntimeError as "no signals here" and goes on."""

    def add_signal_handler(self, sig, callback, *args):
        raise RuntimeError("run_notebooks.py handles the stop signals itself")


class _Policy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self):
        return _LoopWithoutSignalHandlers()


def parent_death_signal():
    """A function that asks Linux to send the calling process SIGTERM when its parent dies
    (prctl PR_SET_PDEATHSIG), or None where that does not exist. Survives exec (not set-uid)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def arm():
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return arm


def stop_kernel(km, grace=5.0):
    """Stop a kernel started by `km` (jupyter_client): SIGTERM to its process group (it runs in a
    session of its own), SIGKILL after `grace` seconds, then its connection file."""
    if km is None:
        return
    provisioner = getattr(km, "provisioner", None)
    proc = getattr(provisioner, "process", None) if provisioner is not None else getattr(km, "kernel", None)
    pgid = getattr(provisioner, "pgid", None)

    def send(sig):
        try:
            if pgid:
                os.killpg(pgid, sig)
            elif proc is not None:
                proc.send_signal(sig)
        except (ProcessLookupError, PermissionError):  # already gone (the group id no longer ours)
            pass

    if proc is not None and proc.poll() is None:
        send(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        send(signal.SIGKILL)  # the kernel if it is stuck, and anything it started in its group
        proc.wait()
    with contextlib.suppress(Exception):
        km.cleanup_connection_file()


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(nb, path):
    """Write a notebook through a temporary file in its folder and a rename (atomic on POSIX): a kill
    at any moment leaves the old file or the new one. Stop signals are held back until it is done;
    the file keeps its permissions."""
    path = os.path.abspath(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~current_umask()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                nbformat.write(nb, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def notebook_id(path):
    """"02" for notebooks/02-rmsnorm-gopher.ipynb; the name without .ipynb for other notebooks."""
    name = os.path.basename(path)
    return name[:2] if name[:2].isdigit() and name[2:3] == "-" else name.removesuffix(".ipynb")


def stable_ids(nb):
    """Give cells without an id a deterministic one (hash of position and source)."""
    seen = set()
    for i, cell in enumerate(nb.cells):
        cid = cell.get("id")
        if not cid or cid in seen:
            digest = hashlib.sha1(f"{i}:{cell.source}".encode()).hexdigest()[:12]
            cid = f"c{digest}"
            cell["id"] = cid
        seen.add(cid)


def clean_for_commit(nb):
    """Drop run-specific metadata so a rerun gives no spurious diff."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                out.get("metadata", {}).pop("transient", None)
                out.pop("transient", None)
    nb.metadata.pop("widgets", None)


def failing_cell_report(nb, index):
    cell = nb.cells[index]
    lines = [f"--- failing cell #{index} (id {cell.get('id')}) ---", cell.source, "--- its output ---"]
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            lines.append(f"[{out.get('name')}] {out.get('text', '')}".rstrip())
        elif out.get("output_type") == "error":
            lines.append(f"{out.get('ename')}: {out.get('evalue')}")
            lines.extend(out.get("traceback", []))
    return "\n".join(lines)


def run(path, smoke, write, timeout, state):
    """Run one notebook; `state` tracks where it is (for the interruption message) and its kernel."""
    state.update(notebook=path, phase="starting", index=None, km=None)
    nb = nbformat.read(path, as_version=4)
    stable_ids(nb)
    workdir = os.path.dirname(os.path.abspath(path))
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="tslab",
        resources={"metadata": {"path": workdir}},
        record_timing=False,
        allow_errors=False,
    )
    os.environ["TA_SMOKE"] = "1" if smoke else "0"
    # Tells the kernel it runs under this runner, which writes nothing in smoke mode: no need for the
    # warning a smoke run in a front end that autosaves gets (lib/notebook/mode.ts).
    os.environ["TA_NOTEBOOK_RUNNER"] = "1"
    started = time.time()
    failure = None
    original_start = client.async_start_new_kernel
    original_execute = client.async_execute_cell

    async def recording_start(**kwargs):
        state["km"] = client.km  # before the launch: a stop during it still finds the process
        return await original_start(**kwargs)

    async def tracking(cell, cell_index, *args, **kwargs):
        state.update(phase="cell", index=cell_index)
        return await original_execute(cell, cell_index, *args, **kwargs)

    client.async_start_new_kernel = recording_start
    client.async_execute_cell = tracking
    arm = parent_death_signal()
    try:
        # preexec_fn reaches Popen through nbclient and jupyter_client: the kernel dies with this runner.
        client.execute(**({"preexec_fn": arm} if arm else {}))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        failure = (state["index"], type(err).__name__, str(err).strip())
    seconds = time.time() - started
    state["phase"] = "finished"
    if failure is None and write:
        clean_for_commit(nb)
        write_atomically(nb, path)
        state["written"].append(notebook_id(path))
    elif failure is not None and write:
        # Keep what the failed run computed (the notebook itself is left untouched); one folder per
        # user, as /tmp is shared.
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        kept = os.path.join(tempfile.gettempdir(), f"transformer-anatomy-failed-{uid}", os.path.basename(path))
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        write_atomically(nb, kept)
        print(f"[run] the failed run's outputs are kept in {kept}", flush=True)
    return nb, seconds, failure


def interruption_message(state):
    """One line: where the run stopped and what was written."""
    nid = notebook_id(state["notebook"]) if state.get("notebook") else None
    written = state["written"]
    if nid is None:
        where = "interrupted before any notebook started"
    elif state["phase"] == "starting":
        where = f"interrupted in {nid} while its kernel started"
    elif state["phase"] == "cell":
        where = f"interrupted in {nid}, cell {state['index']}"
    else:
        where = f"interrupted after {nid}"
    if not written:
        return f"{where}; nothing written"
    if nid in written:
        return f"{where}; written: {', '.join(written)}"
    return f"{where}; {nid} not written (written: {', '.join(written)})"


def write_report(file, results):
    if file:
        with open(file, "w") as f:
            json.dump(results, f, indent=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (TA_SMOKE=1); claims not enforced")
    parser.add_argument("--write", action="store_true", help="write outputs back into the notebooks")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    parser.add_argument("--json", help="write per-notebook timings and status here")
    args = parser.parse_args()

    asyncio.set_event_loop_policy(_Policy())
    state = {"notebook": None, "phase": None, "index": None, "km": None, "written": []}
    results = []
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_interrupted)
    arm = parent_death_signal()
    if arm:
        parent = os.getppid()
        arm()
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)
    ok = True
    try:
        for path in args.notebooks:
            mode = "smoke" if args.smoke else "full"
            print(f"[run] {path} ({mode}) ...", flush=True)
            nb, seconds, failure = run(path, args.smoke, args.write, args.timeout, state)
            if failure:
                ok = False
                index, kind, message = failure
                print(f"[run] FAILED {path} after {seconds:.1f} s: {kind} {message}", flush=True)
                if index is not None:
                    print(failing_cell_report(nb, index), flush=True)
            else:
                print(f"[run] ok {path} in {seconds:.1f} s{' (written)' if args.write else ''}", flush=True)
            results.append({"notebook": path, "mode": mode, "seconds": round(seconds, 1), "ok": failure is None})
        write_report(args.json, results)
    except Interrupted as stop:
        # The kernel first: the terminal may be gone (SIGHUP), and then printing fails.
        stop_kernel(state["km"])
        with contextlib.suppress(Exception):
            write_report(args.json, results)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.write(interruption_message(state) + "\n")
            sys.stderr.flush()
        # Not a normal exit: nbclient's atexit hook and its suspended coroutines would try to talk
        # to the kernel just stopped.
        os._exit(128 + stop.signum)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
