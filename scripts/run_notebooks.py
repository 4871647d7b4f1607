"""Execute notebooks headlessly with the tslab kernel (nbclient), one kernel per notebook.

Used by `npm run reproduce` (full mode, outputs written back into the notebooks) and by the test
suite (smoke mode, outputs discarded). Written back deterministically: no timing metadata,
stable cell ids, execution counts from 1, so rerunning with the same seeds only changes what
really changed. tslab reports a failing cell only on its stderr stream, so on failure this
prints the failing cell's source and that stream.

usage: run_notebooks.py [--smoke] [--write] [--timeout S] [--json FILE] NOTEBOOK...
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


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


def run(path, smoke, write, timeout):
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
    started = time.time()
    failure = None
    current = {"index": None}
    original = client.async_execute_cell

    async def tracking(cell, cell_index, *args, **kwargs):
        current["index"] = cell_index
        return await original(cell, cell_index, *args, **kwargs)

    client.async_execute_cell = tracking
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        failure = (current["index"], type(err).__name__, str(err).strip())
    seconds = time.time() - started
    if failure is None and write:
        clean_for_commit(nb)
        nbformat.write(nb, path)
    elif failure is not None and write:
        # Keep what the failed run computed (the notebook itself is left untouched).
        kept = os.path.join(tempfile.gettempdir(), "transformer-anatomy-failed", os.path.basename(path))
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        nbformat.write(nb, kept)
        print(f"[run] the failed run's outputs are kept in {kept}", flush=True)
    return nb, seconds, failure


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (TA_SMOKE=1); claims not enforced")
    parser.add_argument("--write", action="store_true", help="write outputs back into the notebooks")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    parser.add_argument("--json", help="write per-notebook timings and status here")
    args = parser.parse_args()

    results = []
    ok = True
    for path in args.notebooks:
        mode = "smoke" if args.smoke else "full"
        print(f"[run] {path} ({mode}) ...", flush=True)
        nb, seconds, failure = run(path, args.smoke, args.write, args.timeout)
        if failure:
            ok = False
            index, kind, message = failure
            print(f"[run] FAILED {path} after {seconds:.1f} s: {kind} {message}", flush=True)
            if index is not None:
                print(failing_cell_report(nb, index), flush=True)
        else:
            print(f"[run] ok {path} in {seconds:.1f} s{' (written)' if args.write else ''}", flush=True)
        results.append({"notebook": path, "mode": mode, "seconds": round(seconds, 1), "ok": failure is None})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
