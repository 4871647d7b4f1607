#!/usr/bin/python3
"""The PyTorch side of `npm run bench -- --vs-torch`: the same reference LM training step as
lib/ (Pre-LN GPT-2-style decoder: B16, T128, d128, 4 layers, 4 heads, dFF 512, vocab 256, tied
embeddings, GELU (erf), N(0, 0.02²) init with residual projections scaled by 1/sqrt(2L), Adam
lr 1e-3) and square matmuls, on the CPU. Prints one JSON object on stdout.

Torch is configured as it ran fastest on the project's 2-vCPU machines:
OpenBLAS with one thread (OPENBLAS_NUM_THREADS=1) and two torch threads, OPENBLAS_CORETYPE unset
(a forced OPENBLAS_CORETYPE=Haswell made torch ~1.6× slower). Debian's python3-torch needs
libopenblas0-pthread: without it torch silently uses reference BLAS (~3 GFLOP/s) and the
comparison is void. The caller (scripts/bench.mjs) sets the environment; this script reports
what it found.

usage: bench_torch.py [--steps N]
"""
import json
import math
import os
import resource
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print(json.dumps({"error": "python3-torch is not installed (apt-get install python3-torch libopenblas0-pthread)"}))
    sys.exit(3)

B, T, D, H, L, FF, V = 16, 128, 128, 4, 4, 512, 256


# Warm-up steps before timing, as in scripts/bench.mjs.
WARMUP = 3

def init_params(gen):
    def normal(*shape, std=0.02):
        return (torch.randn(*shape, generator=gen) * std).requires_grad_()

    def zeros(*shape):
        return torch.zeros(*shape, requires_grad=True)

    def ones(*shape):
        return torch.ones(*shape, requires_grad=True)

    res = 0.02 / math.sqrt(2 * L)
    p = {"tok": normal(V, D), "pos": normal(T, D), "lnf_g": ones(D), "lnf_b": zeros(D)}
    for l in range(L):
        p.update({
            f"{l}.ln1_g": ones(D), f"{l}.ln1_b": zeros(D),
            f"{l}.wq": normal(D, D), f"{l}.bq": zeros(D), f"{l}.wk": normal(D, D), f"{l}.bk": zeros(D),
            f"{l}.wv": normal(D, D), f"{l}.bv": zeros(D), f"{l}.wo": normal(D, D, std=res), f"{l}.bo": zeros(D),
            f"{l}.ln2_g": ones(D), f"{l}.ln2_b": zeros(D),
            f"{l}.w1": normal(D, FF), f"{l}.b1": zeros(FF), f"{l}.w2": normal(FF, D, std=res), f"{l}.b2": zeros(D),
        })
    return p


def forward(p, ids, mask):
    x = p["tok"][ids] + p["pos"][: ids.shape[1]]
    for l in range(L):
        h = F.layer_norm(x, (D,), p[f"{l}.ln1_g"], p[f"{l}.ln1_b"], 1e-5)
        q = (h @ p[f"{l}.wq"] + p[f"{l}.bq"]).view(B, T, H, D // H).transpose(1, 2)
        k = (h @ p[f"{l}.wk"] + p[f"{l}.bk"]).view(B, T, H, D // H).transpose(1, 2)
        v = (h @ p[f"{l}.wv"] + p[f"{l}.bv"]).view(B, T, H, D // H).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // H) + mask, -1)
        a = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + a @ p[f"{l}.wo"] + p[f"{l}.bo"]
        h = F.layer_norm(x, (D,), p[f"{l}.ln2_g"], p[f"{l}.ln2_b"], 1e-5)
        x = x + F.gelu(h @ p[f"{l}.w1"] + p[f"{l}.b1"]) @ p[f"{l}.w2"] + p[f"{l}.b2"]
    x = F.layer_norm(x, (D,), p["lnf_g"], p["lnf_b"], 1e-5)
    return x @ p["tok"].t()


def reference_step(steps):
    gen = torch.Generator().manual_seed(0)
    p = init_params(gen)
    opt = torch.optim.Adam(p.values(), lr=1e-3)
    mask = torch.full((T, T), float("-inf")).triu(1)
    times, first = [], None
    for _ in range(steps + WARMUP):
        t0 = time.perf_counter()
        ids = torch.randint(0, V, (B, T + 1), generator=gen)
        logits = forward(p, ids[:, :T], mask)
        loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
        times.append((time.perf_counter() - t0) * 1000)
    return {"msPerStep": statistics.median(times[WARMUP:]), "steps": steps, "firstLoss": first}


def matmul(n, reps):
    a, b = torch.randn(n, n), torch.randn(n, n)
    times = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append((time.perf_counter() - t0) * 1000)
    ms = statistics.median(times[1:])
    return {"n": n, "ms": ms, "gflops": 2 * n ** 3 / (ms * 1e6)}


def blas_in_use():
    """The BLAS library torch's products load, read from this process's memory map after one product:
    "openblas", "reference" (netlib's libblas: ~3 GFLOP/s, a comparison against it is void) or "other"."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if ".so" in line}
    if any("openblas" in lib for lib in libs):
        return "openblas"
    if any("/blas/libblas" in lib for lib in libs):
        return "reference"
    return "other"


def main():
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 7
    torch.set_num_threads(int(os.environ.get("TA_TORCH_THREADS", "2")))
    blas = blas_in_use()
    if blas == "reference":
        print(json.dumps({"error": "torch uses the reference BLAS (netlib libblas, ~3 GFLOP/s): install libopenblas0-pthread "
                          "(apt-get install libopenblas0-pthread) so the comparison is not void"}))
        sys.exit(3)
    step = reference_step(steps)
    mm = [matmul(n, 10 if n < 1024 else 5) for n in (256, 512, 1024)]
    print(json.dumps({
        "backend": "torch-cpu", "threads": torch.get_num_threads(), **step, "matmul": mm,
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": {"torch": torch.__version__, "python": sys.version.split()[0]},
        "config": {"blas": blas, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")},
    }))


if __name__ == "__main__":
    main()
