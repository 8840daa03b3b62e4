//! Convolution geometry: the one place that knows the output-size rule, what
//! a valid geometry is, and how much work and memory a convolution takes.
//! The GPU ops, the CPU reference, the tests and the benchmark all go
//! through [`Conv2dGeometry`]; nobody else re-derives `Ho` or `Wo`.

use crate::Error;

/// Hyper-parameters of a 2-D convolution, in `[height, width]` order, with
/// PyTorch's meaning (cross-correlation, zero padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2dParams {
    pub stride: [u32; 2],
    pub padding: [u32; 2],
    pub dilation: [u32; 2],
    pub groups: u32,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

impl Conv2dParams {
    /// Same stride and padding along both axes, no dilation, one group.
    pub fn square(stride: u32, padding: u32) -> Self {
        Conv2dParams {
            stride: [stride, stride],
            padding: [padding, padding],
            ..Default::default()
        }
    }
}

/// Largest extent (input plus padding, or dilated kernel) along one axis.
/// Keeping it at 2^30 lets the kernels form `oh·sh + r·dh` in u32 without
/// overflow.
pub const MAX_AXIS_EXTENT: u64 = 1 << 30;

/// A fully validated convolution problem: input `[n, c, h, w]`, weight
/// `[k, c/groups, r, s]`, output `[n, k, ho, wo]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2dGeometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub r: usize,
    pub s: usize,
    pub ho: usize,
    pub wo: usize,
    pub params: Conv2dParams,
}

/// `floor((input + 2·pad − dil·(kernel−1) − 1) / stride) + 1`, or the error
/// that says why the axis has no output.
fn output_extent(
    op: &'static str,
    axis: &'static str,
    input: usize,
    kernel: usize,
    stride: u32,
    pad: u32,
    dil: u32,
) -> Result<usize, Error> {
    // u128: input and kernel may be anything up to usize::MAX here.
    let padded = input as u128 + 2 * pad as u128;
    let dilated = dil as u128 * (kernel as u128).saturating_sub(1) + 1;
    if padded > MAX_AXIS_EXTENT as u128 || dilated > MAX_AXIS_EXTENT as u128 {
        return Err(Error::TooLarge {
            op,
            what: format!(
                "{axis}: padded input {padded} or dilated kernel {dilated} exceeds {MAX_AXIS_EXTENT}"
            ),
        });
    }
    if dilated > padded {
        return Err(Error::KernelTooLarge {
            op,
            axis,
            dilated_kernel: dilated as usize,
            padded_input: padded as usize,
        });
    }
    Ok(((padded - dilated) / stride as u128 + 1) as usize)
}

/// Checks a shape of rank `R` with no zero dimension.
pub fn check_dims<const R: usize>(
    op: &'static str,
    tensor: &'static str,
    shape: &[usize],
) -> Result<[usize; R], Error> {
    let s: [usize; R] = shape.try_into().map_err(|_| Error::BadRank {
        op,
        tensor,
        expected: R,
        shape: shape.to_vec(),
    })?;
    if s.contains(&0) {
        return Err(Error::ZeroSize {
            op,
            tensor,
            shape: shape.to_vec(),
        });
    }
    Ok(s)
}

/// Checks a 4-D shape: rank 4 and no zero dimension.
pub fn check_4d(
    op: &'static str,
    tensor: &'static str,
    shape: &[usize],
) -> Result<[usize; 4], Error> {
    check_dims::<4>(op, tensor, shape)
}

/// The geometry of a linear layer `y[n, o] = Σ_i x[n, i] · w[o, i]` with
/// `x` `[N, in]` and `w` `[out, in]`, viewed as a 1×1 convolution of an
/// `[N, in, 1, 1]` image with an `[out, in, 1, 1]` kernel: the same GEMM
/// (M = N, N = out, K = in), so linear layers run the convolution kernels.
/// Fails on ranks other than 2, zero sizes, or `in` that differs.
pub fn linear_geometry(
    op: &'static str,
    x_shape: &[usize],
    w_shape: &[usize],
) -> Result<Conv2dGeometry, Error> {
    let [n, fan_in] = check_dims::<2>(op, "input", x_shape)?;
    let [fan_out, w_in] = check_dims::<2>(op, "weight", w_shape)?;
    if w_in != fan_in {
        return Err(Error::ShapeMismatch {
            op,
            tensor: "weight",
            expected: vec![fan_out, fan_in],
            got: w_shape.to_vec(),
        });
    }
    Conv2dGeometry::new(
        op,
        &[n, fan_in, 1, 1],
        &[fan_out, fan_in, 1, 1],
        &Conv2dParams::default(),
    )
}

/// A pooling window as torch's `max_pool2d` / `avg_pool2d` take it:
/// `kernel`, `stride` and zero `padding` (counted as −∞ by max pooling and
/// as zeros in the average), `[height, width]`; `ceil_mode` (torch's
/// `ceil_mode=True`: a last, partial window where floor mode drops it),
/// and for the average `count_include_pad` (torch's default `true`: the
/// divisor counts padding; `false`: only the input positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2dParams {
    pub kernel: [u32; 2],
    pub stride: [u32; 2],
    pub padding: [u32; 2],
    pub ceil_mode: bool,
    pub count_include_pad: bool,
}

impl Pool2dParams {
    /// A square `kernel` with `stride` and `padding` on both axes.
    pub fn square(kernel: u32, stride: u32, padding: u32) -> Self {
        Pool2dParams {
            kernel: [kernel; 2],
            stride: [stride; 2],
            padding: [padding; 2],
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    /// The same windows in torch's `ceil_mode=True`.
    pub fn ceil(self) -> Self {
        Pool2dParams {
            ceil_mode: true,
            ..self
        }
    }

    /// The same average with `count_include_pad=False`.
    pub fn exclude_pad(self) -> Self {
        Pool2dParams {
            count_include_pad: false,
            ..self
        }
    }

    /// The divisor of window `o` along axis `i` of an input of `extent`
    /// (torch's avg_pool2d): the window clipped to the padded input, or
    /// without `count_include_pad` to the input itself.
    pub fn window_count(&self, i: usize, o: usize, extent: usize) -> usize {
        let (k, s, p) = (
            self.kernel[i] as usize,
            self.stride[i] as usize,
            self.padding[i] as usize,
        );
        let start = o * s;
        if self.count_include_pad {
            (start + k).min(extent + 2 * p) - start
        } else {
            (start + k).min(p + extent) - start.max(p)
        }
    }

    /// Non-overlapping `size`×`size` windows: torch's `max_pool2d(x, size)`
    /// (the stride defaults to the kernel).
    pub fn window(size: u32) -> Self {
        Pool2dParams::square(size, size, 0)
    }

    /// Whether torch's `max_pool2d(relu(batch_norm2d(x)), self)` runs as
    /// one op ([`crate::Gpu::batch_norm2d_relu_max_pool2d`]) for `x` of
    /// `x_shape`: 2x2 windows at stride 2 without padding (`window(2)`,
    /// either rounding mode) over planes of even height and width, so that
    /// the windows tile every plane. Where they do not, the ops run one by
    /// one.
    pub fn fuses_after_batch_norm(&self, x_shape: &[usize]) -> bool {
        let window = self.kernel == [2, 2] && self.stride == [2, 2] && self.padding == [0, 0];
        let even = |v: usize| v > 0 && v.is_multiple_of(2);
        window && matches!(*x_shape, [_, _, h, w] if even(h) && even(w))
    }
}

/// `Err(InvalidParam)` unless `max_pool2d(relu(batch_norm2d(x)), 2)` fuses
/// for `x` of `shape` ([`Pool2dParams::fuses_after_batch_norm`]).
pub(crate) fn check_fused_pool(op: &'static str, shape: [usize; 4]) -> Result<(), Error> {
    if Pool2dParams::window(2).fuses_after_batch_norm(&shape) {
        return Ok(());
    }
    Err(Error::InvalidParam {
        op,
        param: "input",
        message: format!(
            "2x2 max pooling at stride 2 fuses only over planes of even height and width, got {}x{} (run batch_norm2d_relu and max_pool2d instead)",
            shape[2], shape[3]
        ),
    })
}

/// The largest pooling window side: a window's scan must stay within the
/// kernels' loop budget (plan::MAX_LOOP_TRIPS): 255 x 255 < 65 536.
pub const MAX_POOL_WINDOW: u32 = 255;

/// A validated pooling of `[N, C, H, W]` into `[N, C, Ho, Wo]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2dGeometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub ho: usize,
    pub wo: usize,
    pub params: Pool2dParams,
}

impl Pool2dGeometry {
    /// `Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1`, likewise `Wo`, with torch's
    /// checks: kernel 1 to [`MAX_POOL_WINDOW`], stride ≥ 1, padding at most
    /// half the kernel, a window no larger than the padded input; a bad
    /// rank or a zero dimension fails too.
    pub fn new(op: &'static str, x_shape: &[usize], p: &Pool2dParams) -> Result<Self, Error> {
        let [n, c, h, w] = check_4d(op, "input", x_shape)?;
        let bad = |param, message: String| Err(Error::InvalidParam { op, param, message });
        let mut out = [0usize; 2];
        for (i, (axis, extent)) in [("height", h), ("width", w)].into_iter().enumerate() {
            let (k, s, pad) = (p.kernel[i], p.stride[i], p.padding[i]);
            if k == 0 || k > MAX_POOL_WINDOW {
                return bad(
                    "kernel",
                    format!("the pooling window must be 1 to {MAX_POOL_WINDOW} along the {axis}, got {k}"),
                );
            }
            if s == 0 {
                return bad("stride", format!("must be at least 1 along the {axis}"));
            }
            // In u64: a padding of 2^31 or more would wrap `2 * pad` in
            // u32 and pass.
            if 2 * u64::from(pad) > u64::from(k) {
                return bad(
                    "padding",
                    format!("{pad} along the {axis} is more than half the kernel ({k}), which torch refuses"),
                );
            }
            let padded = extent + 2 * pad as usize;
            if (k as usize) > padded {
                return Err(Error::KernelTooLarge {
                    op,
                    axis,
                    dilated_kernel: k as usize,
                    padded_input: padded,
                });
            }
            // torch's pooling_output_shape: in ceil mode a last window
            // that starts in the input (or the left padding) is kept.
            let (k, s) = (k as usize, s as usize);
            out[i] = if p.ceil_mode {
                let o = (padded - k).div_ceil(s) + 1;
                if (o - 1) * s >= extent + pad as usize {
                    o - 1
                } else {
                    o
                }
            } else {
                (padded - k) / s + 1
            };
        }
        Ok(Pool2dGeometry {
            n,
            c,
            h,
            w,
            ho: out[0],
            wo: out[1],
            params: *p,
        })
    }

    pub fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }

    pub fn y_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.ho, self.wo]
    }

    /// Output windows that cover one input position along each axis, at
    /// most: ⌈kernel / stride⌉.
    pub fn windows_per_input(&self) -> [usize; 2] {
        let p = &self.params;
        [0, 1].map(|i| (p.kernel[i] as usize).div_ceil(p.stride[i] as usize))
    }

    /// Whether the windows tile the padded input exactly: stride = kernel
    /// and `Ho·sh = H + 2·ph` (likewise the width), so every input position
    /// lies in exactly one window (2x2 pooling at stride 2 of an even
    /// plane). A backward pass can then run per window and scatter.
    pub fn windows_tile_input(&self) -> bool {
        let p = &self.params;
        let sizes = [(self.h, self.ho), (self.w, self.wo)];
        (0..2).all(|i| {
            let (extent, out) = sizes[i];
            p.stride[i] == p.kernel[i]
                && out * p.stride[i] as usize == extent + 2 * p.padding[i] as usize
        })
    }
}

/// The one pooling window covering a whole `H×W` plane of `x_shape`
/// (global pooling, torch's `adaptive_avg_pool2d(x, 1)`); planes of at
/// most [`MAX_POOL_WINDOW`] on a side.
pub fn global_pool_params(op: &'static str, x_shape: &[usize]) -> Result<Pool2dParams, Error> {
    let [_, _, h, w] = check_4d(op, "input", x_shape)?;
    let side = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    let (h, w) = (side(h), side(w));
    if h > MAX_POOL_WINDOW || w > MAX_POOL_WINDOW {
        return Err(Error::InvalidParam {
            op,
            param: "input",
            message: format!(
                "planes of {h}x{w}: global average pooling takes at most {MAX_POOL_WINDOW}x{MAX_POOL_WINDOW}"
            ),
        });
    }
    Ok(Pool2dParams {
        kernel: [h, w],
        stride: [1, 1],
        padding: [0, 0],
        ceil_mode: false,
        count_include_pad: true,
    })
}

/// `(threshold, scale)` of drop probability `p`: an element is kept when
/// its 32-bit hash is at least `⌈p·2^32⌉`, and scaled by `1/(1 − p)`
/// (computed in f64, rounded to f32, as torch's scalar). For p = 1 every
/// element is "kept" and scaled by 0 (torch's `x · 0`). Shared by the GPU op
/// and the CPU reference: the mask is part of the op's definition.
pub fn dropout_rule(op: &'static str, p: f32) -> Result<(u32, f32), Error> {
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::InvalidParam {
            op,
            param: "p",
            message: format!("the drop probability must be in [0, 1], got {p}"),
        });
    }
    if p == 1.0 {
        return Ok((0, 0.0));
    }
    let threshold = (p as f64 * 4_294_967_296.0).ceil() as u32;
    Ok((threshold, (1.0 / (1.0 - p as f64)) as f32))
}

/// How `s` broadcasts over `x` in `x · s` (torch's broadcasting, in the
/// two forms wgconv runs): `s` holds one value (a scalar, any shape of one
/// element), or `s` has `x`'s rank, agrees with `x` on its leading
/// dimensions and is 1 on the rest (a squeeze-and-excitation gate
/// `[N, C, 1, 1]` over `[N, C, H, W]`). Element `i` of `x` then meets
/// element `i / block` of `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BroadcastGeometry {
    /// Consecutive elements of `x` that share one element of `s`.
    pub block: usize,
    /// Elements of `s`.
    pub s_len: usize,
}

impl BroadcastGeometry {
    pub fn new(op: &'static str, x: &[usize], s: &[usize]) -> Result<Self, Error> {
        let x_len = element_count(op, x)?;
        let s_len = element_count(op, s)?;
        if x_len == 0 || s_len == 0 {
            return Err(Error::ZeroSize {
                op,
                tensor: if x_len == 0 { "input" } else { "scale" },
                shape: if x_len == 0 { x.to_vec() } else { s.to_vec() },
            });
        }
        let leading = s.iter().rposition(|&d| d != 1).map_or(0, |i| i + 1);
        let fits = s_len == 1 || (s.len() == x.len() && s[..leading] == x[..leading]);
        if !fits {
            return Err(Error::InvalidParam {
                op,
                param: "scale",
                message: format!(
                    "of shape {s:?} does not broadcast over {x:?}: it must hold one value, or \
                     have the input's rank, its leading dimensions and 1 after them \
                     (e.g. [N, C, 1, 1] over [N, C, H, W])"
                ),
            });
        }
        Ok(BroadcastGeometry {
            block: x_len / s_len,
            s_len,
        })
    }
}

/// Number of elements of `shape`, or an error if it overflows `usize`.
pub fn element_count(op: &'static str, shape: &[usize]) -> Result<usize, Error> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::TooLarge {
            op,
            what: format!("shape {shape:?} has more elements than usize can count"),
        })
}

impl Conv2dGeometry {
    /// Validates an input shape, a weight shape and the parameters together.
    ///
    /// Fails on: a rank other than 4, a zero dimension, stride / dilation /
    /// groups of 0, groups not dividing `C` or `K`, a weight whose dimension
    /// 1 is not `C / groups`, a dilated kernel larger than the padded input,
    /// and tensors with 2^32 or more elements (the kernels index in u32).
    pub fn new(
        op: &'static str,
        x_shape: &[usize],
        w_shape: &[usize],
        p: &Conv2dParams,
    ) -> Result<Self, Error> {
        let [n, c, h, w] = check_4d(op, "input", x_shape)?;
        let [k, cg, r, s] = check_4d(op, "weight", w_shape)?;
        for (param, v) in [("stride", p.stride), ("dilation", p.dilation)] {
            if v.contains(&0) {
                return Err(Error::InvalidParam {
                    op,
                    param,
                    message: format!("must be at least 1 along both axes, got {v:?}"),
                });
            }
        }
        if p.groups == 0 {
            return Err(Error::InvalidParam {
                op,
                param: "groups",
                message: "must be at least 1, got 0".into(),
            });
        }
        let g = p.groups as usize;
        if c % g != 0 {
            return Err(Error::GroupsDoNotDivide {
                op,
                what: "input channels C",
                channels: c,
                groups: g,
            });
        }
        if k % g != 0 {
            return Err(Error::GroupsDoNotDivide {
                op,
                what: "output channels K",
                channels: k,
                groups: g,
            });
        }
        if cg != c / g {
            return Err(Error::ChannelMismatch {
                op,
                input_channels: c,
                groups: g,
                weight_channels: cg,
            });
        }
        let ho = output_extent(op, "height", h, r, p.stride[0], p.padding[0], p.dilation[0])?;
        let wo = output_extent(op, "width", w, s, p.stride[1], p.padding[1], p.dilation[1])?;
        let geo = Conv2dGeometry {
            n,
            c,
            h,
            w,
            k,
            r,
            s,
            ho,
            wo,
            params: *p,
        };
        for (name, shape) in [
            ("input", geo.x_shape()),
            ("weight", geo.w_shape()),
            ("output", geo.y_shape()),
        ] {
            let count = element_count(op, &shape)?;
            if count > u32::MAX as usize {
                return Err(Error::TooLarge {
                    op,
                    what: format!(
                        "{name} {shape:?} has {count} elements; the kernels index at most {} (2^32 - 1)",
                        u32::MAX
                    ),
                });
            }
        }
        Ok(geo)
    }

    pub fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }
    pub fn w_shape(&self) -> [usize; 4] {
        [self.k, self.c_per_group(), self.r, self.s]
    }
    pub fn y_shape(&self) -> [usize; 4] {
        [self.n, self.k, self.ho, self.wo]
    }
    pub fn groups(&self) -> usize {
        self.params.groups as usize
    }
    pub fn c_per_group(&self) -> usize {
        self.c / self.groups()
    }
    pub fn k_per_group(&self) -> usize {
        self.k / self.groups()
    }

    /// Floating-point operations of one convolution (forward, input grad and
    /// weight grad alike): `2·N·K·Ho·Wo·(C/g)·R·S`.
    pub fn flops(&self) -> f64 {
        2.0 * (self.n * self.k * self.ho * self.wo) as f64
            * (self.c_per_group() * self.r * self.s) as f64
    }

    /// Bytes that one op must at least read and write (x, w and y once each).
    pub fn min_bytes(&self) -> f64 {
        let elems = |s: [usize; 4]| s.iter().product::<usize>() as f64;
        4.0 * (elems(self.x_shape()) + elems(self.w_shape()) + elems(self.y_shape()))
    }
}

/// The output shape of torch's `conv_transpose2d` for `x` `[N, C_in, H, W]`
/// and `w` `[C_in, C_out/groups, kh, kw]`: `[N, C_out, Ho, Wo]` with
/// `Ho = (H − 1)·stride − 2·padding + dilation·(kh − 1) +
/// output_padding + 1`. It is the input shape of the convolution whose input gradient the
/// transposed convolution is. Fails as torch does: weights of other input
/// channels, groups that do not divide them, an `output_padding` not
/// smaller than the stride or the dilation, an output of no position.
pub fn conv_transpose2d_shape(
    op: &'static str,
    x_shape: &[usize],
    w_shape: &[usize],
    p: &Conv2dParams,
    output_padding: [u32; 2],
) -> Result<[usize; 4], Error> {
    let [n, c_in, h, w] = check_4d(op, "input", x_shape)?;
    let [wk, c_out_g, kh, kw] = check_4d(op, "weight", w_shape)?;
    let groups = p.groups.max(1) as usize;
    let bad = |param: &'static str, message: String| Error::InvalidParam { op, param, message };
    if wk != c_in {
        return Err(bad(
            "weight",
            format!("a weight for {wk} input channels, the input has {c_in}"),
        ));
    }
    if c_in % groups != 0 {
        return Err(Error::GroupsDoNotDivide {
            op,
            what: "input channels",
            channels: c_in,
            groups,
        });
    }
    let mut out = [0usize; 2];
    for axis in 0..2 {
        let (s, d, pad, o) = (
            p.stride[axis] as i128,
            p.dilation[axis] as i128,
            p.padding[axis] as i128,
            output_padding[axis] as i128,
        );
        if s == 0 || d == 0 {
            return Err(bad(
                "stride",
                "stride and dilation must be at least 1".into(),
            ));
        }
        if o >= s && o >= d {
            return Err(bad(
                "output_padding",
                format!("{o} must be smaller than either the stride {s} or the dilation {d}"),
            ));
        }
        let size = [h, w][axis] as i128;
        let k = [kh, kw][axis] as i128;
        let len = (size - 1) * s - 2 * pad + d * (k - 1) + o + 1;
        if len < 1 {
            return Err(bad(
                "padding",
                format!("an output of {len} positions along axis {axis}"),
            ));
        }
        out[axis] = usize::try_from(len).map_err(|_| {
            bad(
                "stride",
                format!("an output of {len} positions along axis {axis}"),
            )
        })?;
    }
    Ok([n, c_out_g * groups, out[0], out[1]])
}

/// How `interpolate` reads the input (torch's `mode`, `align_corners`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpsampleMode {
    /// `mode='nearest'`: `src = min(⌊dst · scale⌋, in − 1)`.
    Nearest,
    /// `mode='bilinear'`: corners of the input and output pixels aligned,
    /// or (the default, `false`) their centres.
    Bilinear { align_corners: bool },
}

/// torch's `F.interpolate(x, size | scale_factor, mode, align_corners)`
/// on `[N, C, H, W]`: the output size, and the scale factor where one was
/// given (torch then maps coordinates by `1/scale_factor`, not by
/// `in/out`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Upsample2dParams {
    pub mode: UpsampleMode,
    /// `size=(h, w)`; with `scale_factor` the output is `⌊in · factor⌋`.
    pub size: Option<[usize; 2]>,
    pub scale_factor: Option<[f32; 2]>,
}

impl Upsample2dParams {
    /// `F.interpolate(x, size=(h, w), mode=...)`.
    pub fn size(mode: UpsampleMode, size: [usize; 2]) -> Self {
        Upsample2dParams {
            mode,
            size: Some(size),
            scale_factor: None,
        }
    }

    /// `F.interpolate(x, scale_factor=(fh, fw), mode=...)`.
    pub fn scale(mode: UpsampleMode, factor: [f32; 2]) -> Self {
        Upsample2dParams {
            mode,
            size: None,
            scale_factor: Some(factor),
        }
    }

    /// The output `[N, C, Ho, Wo]` for `x_shape`, and per axis the scale
    /// that maps an output coordinate to the input (torch's
    /// `area_pixel_compute_scale` / `compute_scales_value`, in f32 as
    /// torch computes them for f32 tensors). Fails as torch does: both or
    /// neither of size and scale factor, a factor not positive and
    /// finite, an empty output.
    pub fn geometry(
        &self,
        op: &'static str,
        x_shape: &[usize],
    ) -> Result<([usize; 4], [f32; 2]), Error> {
        let [n, c, h, w] = check_4d(op, "input", x_shape)?;
        let bad = |message: String| Error::InvalidParam {
            op,
            param: "size",
            message,
        };
        let out = match (self.size, self.scale_factor) {
            (Some(size), None) => size,
            (None, Some(f)) => {
                if f.iter().any(|v| !v.is_finite() || *v <= 0.0) {
                    return Err(bad(format!(
                        "scale_factor {f:?} must be positive and finite"
                    )));
                }
                let axis = |len: usize, f: f32| (len as f64 * f as f64).floor();
                let (ho, wo) = (axis(h, f[0]), axis(w, f[1]));
                if ho > u32::MAX as f64 || wo > u32::MAX as f64 {
                    return Err(bad(format!("scale_factor {f:?} gives an output too large")));
                }
                [ho as usize, wo as usize]
            }
            _ => {
                return Err(bad(
                    "give either size or scale_factor, as torch requires".into()
                ))
            }
        };
        if out[0] == 0 || out[1] == 0 {
            return Err(bad(format!(
                "an output of {}x{} for {h}x{w}",
                out[0], out[1]
            )));
        }
        let scale = |axis: usize| -> f32 {
            let (len, o) = ([h, w][axis], out[axis]);
            match self.mode {
                UpsampleMode::Bilinear {
                    align_corners: true,
                } => {
                    if o > 1 {
                        (len as f32 - 1.0) / (o as f32 - 1.0)
                    } else {
                        0.0
                    }
                }
                _ => match self.scale_factor {
                    Some(f) => 1.0 / f[axis],
                    None => len as f32 / o as f32,
                },
            }
        };
        Ok(([n, c, out[0], out[1]], [scale(0), scale(1)]))
    }
}

/// The input index (and for bilinear the second index and the weights)
/// that output index `o` of an axis reads: torch's `nearest_idx` and
/// `area_pixel_compute_source_index`, in f32. Returns `(i0, i1, λ0, λ1)`
/// (for nearest `i1 = i0`, `λ1 = 0`). Shared by the CPU reference; the
/// kernel computes the same in WGSL.
pub fn upsample_source(
    mode: UpsampleMode,
    o: usize,
    len: usize,
    out: usize,
    scale: f32,
) -> (usize, usize, f32, f32) {
    match mode {
        UpsampleMode::Nearest => {
            let i = if out == len {
                o
            } else if out == 2 * len {
                o >> 1
            } else {
                ((o as f32 * scale).floor() as usize).min(len - 1)
            };
            (i, i, 1.0, 0.0)
        }
        UpsampleMode::Bilinear { align_corners } => {
            let src = if align_corners {
                scale * o as f32
            } else {
                (scale * (o as f32 + 0.5) - 0.5).max(0.0)
            };
            let i0 = (src as usize).min(len - 1);
            let i1 = if i0 < len - 1 { i0 + 1 } else { i0 };
            let l1 = src - i0 as f32;
            (i0, i1, 1.0 - l1, l1)
        }
    }
}

/// The window `[start, end)` of output `i` of `out` along an input axis of
/// `len` in torch's adaptive pooling: `[⌊i·len/out⌋, ⌈(i+1)·len/out⌉)`.
pub fn adaptive_window(i: usize, len: usize, out: usize) -> (usize, usize) {
    (i * len / out, ((i + 1) * len).div_ceil(out))
}

/// `(x_shape, y_shape)` of torch's adaptive pooling of `x_shape` to
/// `output_size`. Fails on an output side of 0, or larger than what the
/// kernels' 32-bit window arithmetic holds.
pub fn adaptive_pool2d_shape(
    op: &'static str,
    x_shape: &[usize],
    output_size: [usize; 2],
) -> Result<([usize; 4], [usize; 4]), Error> {
    let [n, c, h, w] = check_4d(op, "input", x_shape)?;
    let [ho, wo] = output_size;
    if ho == 0 || wo == 0 {
        return Err(Error::InvalidParam {
            op,
            param: "output_size",
            message: format!("{output_size:?}: each side must be at least 1"),
        });
    }
    // (i + 1)·len in u32 on the GPU.
    if (ho as u64 + 1) * h as u64 > u32::MAX as u64 || (wo as u64 + 1) * w as u64 > u32::MAX as u64
    {
        return Err(Error::InvalidParam {
            op,
            param: "output_size",
            message: format!(
                "{output_size:?} of a {h}x{w} input overflows the 32-bit window arithmetic"
            ),
        });
    }
    Ok(([n, c, h, w], [n, c, ho, wo]))
}

/// `[outer, len, inner]` of `shape` around axis `dim` (softmax's lines:
/// `len` values at stride `inner`). Fails on an axis past the rank.
pub fn softmax_lines(op: &'static str, shape: &[usize], dim: usize) -> Result<[usize; 3], Error> {
    if dim >= shape.len() {
        return Err(Error::InvalidParam {
            op,
            param: "dim",
            message: format!("{dim} is past the {} dimensions of {shape:?}", shape.len()),
        });
    }
    Ok([
        shape[..dim].iter().product(),
        shape[dim],
        shape[dim + 1..].iter().product(),
    ])
}

/// Which values a normalisation layer normalises together, torch's three
/// per-sample norms: `GroupNorm(groups)` over each sample's channel groups
/// (`[N, C, *]`), `LayerNorm` over the trailing `dims` dimensions, and
/// `InstanceNorm` over each sample's channel planes (`[N, C, *]`, at least
/// one spatial dimension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Normalization {
    Group { groups: usize },
    Layer { dims: usize },
    Instance,
}

/// A normalisation as the kernels see it: `rows` rows of `len` consecutive
/// values, each normalised by its own mean and biased variance; the affine
/// weight and bias have `count` values, the one for flat index `i` at
/// `(i / inner) % count` (a channel for group and instance norm, the
/// position within the normalised dimensions for layer norm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NormLayout {
    pub rows: usize,
    pub len: usize,
    pub inner: usize,
    pub count: usize,
}

impl NormLayout {
    /// The layout of `kind` over `shape`, with torch's checks: channels
    /// divisible by the groups, layer norm's dimensions within the rank,
    /// more than one value per instance-norm plane (torch's "Expected more
    /// than 1 spatial element when training"), no empty tensor.
    pub fn new(op: &'static str, shape: &[usize], kind: Normalization) -> Result<Self, Error> {
        let bad = |param, message: String| Err(Error::InvalidParam { op, param, message });
        let numel: usize = shape.iter().product();
        if numel == 0 {
            return Err(Error::ZeroSize {
                op,
                tensor: "input",
                shape: shape.to_vec(),
            });
        }
        let spatial = || shape.get(2..).map_or(1, |s| s.iter().product::<usize>());
        let layout = match kind {
            Normalization::Group { groups } => {
                if shape.len() < 2 {
                    return bad("input", format!("{shape:?}: group norm takes [N, C, *]"));
                }
                let c = shape[1];
                if groups == 0 || !c.is_multiple_of(groups) {
                    return bad(
                        "num_groups",
                        format!("{c} channels are not divisible into {groups} groups"),
                    );
                }
                NormLayout {
                    rows: shape[0] * groups,
                    len: c / groups * spatial(),
                    inner: spatial(),
                    count: c,
                }
            }
            Normalization::Layer { dims } => {
                if dims == 0 || dims > shape.len() {
                    return bad(
                        "normalized_shape",
                        format!(
                            "{dims} trailing dimensions of the {}-dimensional {shape:?}",
                            shape.len()
                        ),
                    );
                }
                let len: usize = shape[shape.len() - dims..].iter().product();
                NormLayout {
                    rows: numel / len,
                    len,
                    inner: 1,
                    count: len,
                }
            }
            Normalization::Instance => {
                if shape.len() < 3 {
                    return bad(
                        "input",
                        format!(
                            "{shape:?}: instance norm takes [N, C, *] with a spatial dimension"
                        ),
                    );
                }
                if spatial() == 1 {
                    return bad(
                        "input",
                        format!("{shape:?}: expected more than 1 spatial element when training"),
                    );
                }
                NormLayout {
                    rows: shape[0] * shape[1],
                    len: spatial(),
                    inner: spatial(),
                    count: shape[1],
                }
            }
        };
        Ok(layout)
    }

    /// The affine parameter of flat index `i`.
    pub fn param(&self, i: usize) -> usize {
        (i / self.inner) % self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_rule() {
        // The text's example: 5x5 input, 3x3 kernel, stride 2 -> 2x2.
        let g = Conv2dGeometry::new(
            "t",
            &[1, 1, 5, 5],
            &[1, 1, 3, 3],
            &Conv2dParams::square(2, 0),
        )
        .unwrap();
        assert_eq!((g.ho, g.wo), (2, 2));
        // ResNet stem: 224, 7x7, stride 2, pad 3 -> 112.
        let g = Conv2dGeometry::new(
            "t",
            &[1, 3, 224, 224],
            &[64, 3, 7, 7],
            &Conv2dParams::square(2, 3),
        )
        .unwrap();
        assert_eq!((g.ho, g.wo), (112, 112));
        // Dilation 2 on 7 with kernel 3: effective 5 -> 3.
        let p = Conv2dParams {
            dilation: [2, 1],
            ..Default::default()
        };
        let g = Conv2dGeometry::new("t", &[1, 1, 7, 7], &[1, 1, 3, 3], &p).unwrap();
        assert_eq!((g.ho, g.wo), (3, 5));
    }

    #[test]
    fn flops_count() {
        let g = Conv2dGeometry::new(
            "t",
            &[2, 4, 5, 5],
            &[6, 2, 3, 3],
            &Conv2dParams {
                groups: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(g.flops(), 2.0 * 2.0 * 6.0 * 9.0 * 2.0 * 9.0);
    }
}
