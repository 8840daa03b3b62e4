"""Estimates Winograd's f32 rounding before a tile size is built, and
chooses F(4x4, 3x3)'s points: one output tile of a 3x3 convolution summed
over C channels (in order, one channel after another, as the GEMM kernels
sum), in float32, against the direct sum in float64, relative to
max(1, max|ref|) (the tests' tolerance is 1e-5 of that), worst of 20
random draws in [-1, 1). The matrices are Toom-Cook's for the given points
(and infinity), built here in exact fractions: F(2x2, 3x3) at 0, +-1;
F(4x4, 3x3) at Lavin's 0, +-1, +-2 and at 0, 1, -1, 1/2, -2 (what
shaders/winograd4.wgsl uses). Needs numpy; the table it prints is in
docs/performance.md.

    python scripts/winograd_error_estimate.py
"""
from fractions import Fraction as Fr

import numpy as np

F = np.float32


def toom_cook(points, m, r=3):
    """B^T, G, A^T of F(m, r) at the finite `points` (m + r - 2 of them)
    and infinity: A^T[i][j] = p_j^i, G[j][k] = p_j^k / prod_{l!=j}(p_j - p_l),
    and B^T the one matrix that makes A^T[(G g) * (B^T d)] the correlation
    of g and d (solved column by column, then rounded to exact fractions)."""
    n = m + r - 1
    p = [Fr(x) for x in points]
    assert len(p) == n - 1
    at = [[p[j] ** i for j in range(n - 1)] + [Fr(int(i == m - 1))] for i in range(m)]
    f = [np.prod([p[j] - p[l] for l in range(n - 1) if l != j]) for j in range(n - 1)]
    g = [[p[j] ** k / f[j] for k in range(r)] for j in range(n - 1)] + [[Fr(0)] * (r - 1) + [Fr(1)]]
    bt = np.zeros((n, n))
    for col in range(n):
        rows = [[float(at[i][j] * g[j][k]) for j in range(n)] for i in range(m) for k in range(r)]
        rhs = [float(col == i + k) for i in range(m) for k in range(r)]
        bt[:, col] = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    bt = [[Fr(x).limit_denominator(1000) for x in row] for row in bt]
    return [np.array([[float(x) for x in row] for row in mat]) for mat in (bt, g, at)]


def error(rng, c, mats):
    bt, g, at = (m.astype(F) for m in mats)
    t, m = bt.shape[0], at.shape[0]
    d = rng.uniform(-1, 1, (c, t, t)).astype(F)
    w = rng.uniform(-1, 1, (c, 3, 3)).astype(F)
    u = np.einsum("ij,cjk,lk->cil", g, w, g).astype(F)
    v = np.einsum("ij,cjk,lk->cil", bt, d, bt).astype(F)
    # In order over channels, as the GEMM kernels sum.
    s = np.cumsum((u * v).astype(F), axis=0, dtype=F)[-1]
    y = (at @ s @ at.T).astype(F)
    ref = np.array([[np.sum(d[:, i:i + 3, j:j + 3].astype(np.float64) * w)
                     for j in range(m)] for i in range(m)])
    return abs(y - ref).max() / max(1.0, abs(ref).max())


variants = [
    ("F(2x2, 3x3)", toom_cook([0, 1, -1], 2)),
    ("F(4x4, 3x3) at 0, +-1, +-2", toom_cook([0, 1, -1, 2, -2], 4)),
    ("F(4x4, 3x3) at 0, 1, -1, 1/2, -2", toom_cook([0, 1, -1, Fr(1, 2), -2], 4)),
]
rng = np.random.default_rng(0)
channels = [16, 64, 256, 1024]
print("| C | " + " | ".join(str(c) for c in channels) + " |")
print("| --- |" + " ---: |" * len(channels))
for name, mats in variants:
    row = [max(error(rng, c, mats) for _ in range(20)) for c in channels]
    print(f"| {name} | " + " | ".join(f"{e:.1e}" for e in row) + " |")
