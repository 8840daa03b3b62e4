"""Estimates Winograd's f32 rounding before a tile size is built: one
output tile of a 3x3 convolution summed over C channels, through
F(2x2, 3x3) and F(4x4, 3x3) (Lavin's matrices, points 0, +-1, +-2), in
float32, against the direct sum in float64, relative to
max(1, max|ref|) (the tests' tolerance is 1e-5 of that). Worst of 5
random draws in [-1, 1). Needs numpy; the table it prints is in
docs/performance.md.

    python scripts/winograd_error_estimate.py
"""
import numpy as np

F = np.float32
F2 = (
    np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64),
    np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]),
    np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64),
)
F4 = (
    np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
              [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=np.float64),
    np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
    np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
              [0, 1, -1, 8, -8, 1]], dtype=np.float64),
)


def error(rng, c, mats):
    bt, g, at = (m.astype(F) for m in mats)
    t, m = bt.shape[0], at.shape[0]
    d = rng.uniform(-1, 1, (c, t, t)).astype(F)
    w = rng.uniform(-1, 1, (c, 3, 3)).astype(F)
    u = np.einsum("ij,cjk,lk->cil", g, w, g).astype(F)
    v = np.einsum("ij,cjk,lk->cil", bt, d, bt).astype(F)
    y = (at @ np.sum(u * v, axis=0, dtype=F) @ at.T).astype(F)
    ref = np.array([[np.sum(d[:, i:i + 3, j:j + 3].astype(np.float64) * w)
                     for j in range(m)] for i in range(m)])
    return abs(y - ref).max() / max(1.0, abs(ref).max())


rng = np.random.default_rng(0)
print("| C | F(2x2, 3x3) | F(4x4, 3x3) |")
for c in [16, 64, 256, 1024]:
    e2 = max(error(rng, c, F2) for _ in range(5))
    e4 = max(error(rng, c, F4) for _ in range(5))
    print(f"| {c} | {e2:.1e} | {e4:.1e} |")
