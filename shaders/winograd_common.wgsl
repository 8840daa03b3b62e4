// winograd_common.wgsl: what Winograd's two tile sizes share
// (winograd.wgsl, F(2×2, 3×3); winograd4.wgsl, F(4×4, 3×3)): the
// bindings, the tile grid and the reads and writes at the tensors' edges.
// Each file defines TILE, the side of its output tile, and store_u, its
// weight transform of one 3×3 kernel. The uniform is the
// conv family's (conv_params.wgsl) for the forward problem being run.
// Tiles: T = N·⌈Ho/TILE⌉·⌈Wo/TILE⌉, t = (n, tile row, tile column).

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
// src and dst as vec4s, for the entry points that take four tiles each.
@group(0) @binding(8) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> dst4: array<vec4<f32>>;
// src and dst as vec2s, for F(4×4)'s entry points that read or write rows
// of an even width in aligned pairs.
@group(0) @binding(11) var<storage, read> src2: array<vec2<f32>>;
@group(0) @binding(12) var<storage, read_write> dst2: array<vec2<f32>>;

fn tiles_w() -> u32 { return (P.wo + TILE - 1u) / TILE; }
fn tiles_per_image() -> u32 { return ((P.ho + TILE - 1u) / TILE) * tiles_w(); }
fn tiles() -> u32 { return P.n * tiles_per_image(); }

// x[n, c, iy, ix] or 0 in the padding.
fn x_at(plane: u32, iy: i32, ix: i32) -> f32 {
    if (iy < 0 || ix < 0 || u32(iy) >= P.h || u32(ix) >= P.w) {
        return 0.0;
    }
    return src[plane + u32(iy) * P.w + u32(ix)];
}

// x[n, c, iy, ix .. ix + 1] or zeros in the padding, for ix even and W
// even: the pair is then all inside the row or all outside it.
fn x_pair(plane: u32, iy: i32, ix: i32) -> vec2<f32> {
    if (iy < 0 || ix < 0 || u32(iy) >= P.h || u32(ix) >= P.w) {
        return vec2<f32>(0.0);
    }
    return src2[(plane + u32(iy) * P.w + u32(ix)) / 2u];
}

// dy[plane + oy·Wo + ox], or 0 past the output's edge (a tile that the
// edge cuts), for the weight gradients' dy_transform.
fn dy_at(plane: u32, oy: u32, ox: u32) -> f32 {
    if (oy >= P.ho || ox >= P.wo) {
        return 0.0;
    }
    return src[plane + oy * P.wo + ox];
}

// dy_at's pair at ox, ox + 1 for ox and Wo even (all inside or all past
// the edge).
fn dy_pair(plane: u32, oy: u32, ox: u32) -> vec2<f32> {
    if (oy >= P.ho || ox >= P.wo) {
        return vec2<f32>(0.0);
    }
    return src2[(plane + oy * P.wo + ox) / 2u];
}

// The weight gradients' dw_transform: kernel i = k·C + c's 3×3 gradient,
// rows[r][s] at dw[i·9 + 3·r + s].
fn store_dw(i: u32, rows: array<vec3<f32>, 3>) {
    let o = i * 9u;
    for (var r = 0u; r < 3u; r = r + 1u) {
        dst[o + 3u * r] = rows[r].x;
        dst[o + 3u * r + 1u] = rows[r].y;
        dst[o + 3u * r + 2u] = rows[r].z;
    }
}

// Invocation i's (channel, tile) of `channels` × T: the tile's index t,
// its image n and the top-left (y, x) of its TILE×TILE outputs; ch =
// channels past the end.
struct TileAt { ch: u32, t: u32, n: u32, y: u32, x: u32 }

fn tile_at(i: u32, channels: u32) -> TileAt {
    let count = tiles();
    return tile_of(min(i / count, channels), i % count);
}

// Tile j < 4 of invocation i's run of four, (channel, tiles 4q..4q+3) of
// `channels` × T/4, for the entry points that take four tiles each where
// T is a multiple of 4 (their V or M rows then hold each run as one vec4).
fn tile_at4(i: u32, channels: u32, j: u32) -> TileAt {
    let runs = tiles() / 4u;
    return tile_of(min(i / runs, channels), 4u * (i % runs) + j);
}

fn tile_of(ch: u32, t: u32) -> TileAt {
    let tt = t % tiles_per_image();
    return TileAt(ch, t, t / tiles_per_image(), (tt / tiles_w()) * TILE, (tt % tiles_w()) * TILE);
}

// y[plane + oy·Wo + ox] = v where inside the output.
fn store_y(plane: u32, oy: u32, ox: u32, v: f32) {
    if (oy < P.ho && ox < P.wo) {
        dst[plane + oy * P.wo + ox] = v;
    }
}

// store_y's pair at ox, ox + 1 for ox and Wo even.
fn store_y_pair(plane: u32, oy: u32, ox: u32, v: vec2<f32>) {
    if (oy < P.ho && ox < P.wo) {
        dst2[(plane + oy * P.wo + ox) / 2u] = v;
    }
}

// The weight transforms, one invocation per (k, c) of the forward problem
// being run: U[ξ·K + k][c] from its 3×3 kernel, by each file's store_u.
@compute @workgroup_size(64)
fn weight_transform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.k * P.c) {
        return;
    }
    let o = i * 9u;
    store_u(i / P.c, i % P.c, array<vec3<f32>, 3>(
        vec3<f32>(src[o], src[o + 1u], src[o + 2u]),
        vec3<f32>(src[o + 3u], src[o + 4u], src[o + 5u]),
        vec3<f32>(src[o + 6u], src[o + 7u], src[o + 8u])));
}

// For the input gradient, the forward convolution of dy with w turned by
// 180° and its channel axes swapped: this problem's c is the layer's K,
// its k the layer's C, and w is the layer's [C_k = P.c][P.k][3][3].
@compute @workgroup_size(64)
fn weight_transform_turned(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.k * P.c) {
        return;
    }
    let k = i / P.c;
    let c = i % P.c;
    // The layer's w[c][k] (it has c as its output channel), turned by 180°.
    let o = (c * P.k + k) * 9u;
    store_u(k, c, array<vec3<f32>, 3>(
        vec3<f32>(src[o + 8u], src[o + 7u], src[o + 6u]),
        vec3<f32>(src[o + 5u], src[o + 4u], src[o + 3u]),
        vec3<f32>(src[o + 2u], src[o + 1u], src[o])));
}
