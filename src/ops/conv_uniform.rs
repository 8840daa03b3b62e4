//! `ConvUniform`: the parameters of every convolution-family kernel, laid
//! out exactly as `struct ConvParams` in shaders/conv_params.wgsl, the
//! pipeline constants that repeat its layout facts for the GEMM modules
//! ([`ConvUniform::constants`], [`dispatch`]), and the binding slots of
//! the convolution modules ([`slot`]).

use crate::gpu::{Bindable, Recorder, Shader};
use crate::shape::Conv2dGeometry;

/// Mirror of WGSL `ConvParams`: 32 u32 fields, 128 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct ConvUniform {
    pub(crate) n: u32,
    pub(crate) c: u32,
    pub(crate) h: u32,
    pub(crate) w: u32,
    pub(crate) k: u32,
    pub(crate) r: u32,
    pub(crate) s: u32,
    pub(crate) groups: u32,
    pub(crate) ho: u32,
    pub(crate) wo: u32,
    pub(crate) stride_h: u32,
    pub(crate) stride_w: u32,
    pub(crate) pad_h: u32,
    pub(crate) pad_w: u32,
    pub(crate) dil_h: u32,
    pub(crate) dil_w: u32,
    pub(crate) c_per_group: u32,
    pub(crate) k_per_group: u32,
    pub(crate) has_bias: u32,
    pub(crate) grid_x: u32,
    pub(crate) tiles_m: u32,
    pub(crate) tiles_n: u32,
    pub(crate) splits: u32,
    pub(crate) split_len: u32,
    /// Stride phase of an input-gradient GEMM (see conv2d_input_grad.wgsl).
    pub(crate) phase_h: u32,
    pub(crate) phase_w: u32,
    pub(crate) rows_h: u32,
    pub(crate) rows_w: u32,
    pub(crate) taps_len: u32,
    pub(crate) _pad: [u32; 3],
}

impl ConvUniform {
    /// The geometry part; tiling fields start as a single 1x1x1 tile and
    /// are filled by the op that dispatches the tiled kernel. Every value
    /// fits in u32 because [`Conv2dGeometry::new`] bounds element counts
    /// by 2^32 - 1 and axis extents by 2^30.
    pub(crate) fn new(g: &Conv2dGeometry, grid_x: u32) -> Self {
        let p = &g.params;
        ConvUniform {
            n: g.n as u32,
            c: g.c as u32,
            h: g.h as u32,
            w: g.w as u32,
            k: g.k as u32,
            r: g.r as u32,
            s: g.s as u32,
            groups: p.groups,
            ho: g.ho as u32,
            wo: g.wo as u32,
            stride_h: p.stride[0],
            stride_w: p.stride[1],
            pad_h: p.padding[0],
            pad_w: p.padding[1],
            dil_h: p.dilation[0],
            dil_w: p.dilation[1],
            c_per_group: g.c_per_group() as u32,
            k_per_group: g.k_per_group() as u32,
            has_bias: 0,
            grid_x,
            tiles_m: 1,
            tiles_n: 1,
            splits: 1,
            split_len: 0,
            phase_h: 0,
            phase_w: 0,
            rows_h: g.h as u32,
            rows_w: g.w as u32,
            taps_len: 0,
            _pad: [0; 3],
        }
    }

    /// The pipeline constants of the GEMM modules (the overrides at the
    /// top of shaders/gemm_common.wgsl): whether x's plane and y's plane
    /// are one value, whether the reduction is split, whether a bias is
    /// added — what the kernels' layout branches test. On Mesa's CPU
    /// drivers a branch on the uniform runs both ways under a mask, one on
    /// a pipeline constant is compiled out.
    pub(crate) fn constants(&self) -> [(&'static str, u32); 4] {
        [
            ("X_PLANE_ONE", (self.h * self.w == 1) as u32),
            ("Y_PLANE_ONE", (self.ho * self.wo == 1) as u32),
            ("SPLIT_K", (self.splits > 1) as u32),
            ("ADD_BIAS", (self.has_bias != 0) as u32),
        ]
    }
}

/// Records `entry` of the GEMM module `shader` (forward, input gradient,
/// its columns, weight gradient) with the uniform `u` and the pipeline
/// constants taken from it, so that the two cannot disagree.
pub(crate) fn dispatch(
    rec: &mut Recorder,
    (shader, entry): (Shader, &'static str),
    u: &ConvUniform,
    buffers: &[(u32, &dyn Bindable)],
    grid: (u32, u32),
) {
    let uniform = bytemuck::bytes_of(u);
    rec.dispatch_specialized(shader, entry, &u.constants(), uniform, buffers, grid);
}

/// The binding slots of the convolution shader modules (binding 0 is the
/// uniform). The same slot holds the same role in every conv module; the
/// test below holds each module's declarations to these numbers.
pub(crate) mod slot {
    /// The GEMM's A operand tensor: x (forward, weight grad) or dy.
    pub(crate) const A: u32 = 1;
    /// The B operand tensor: the weight, or dy (weight grad).
    pub(crate) const B: u32 = 2;
    /// What the GEMM or direct kernel writes: y, dx, dw, a split
    /// reduction's partial sums, or the two-step path's columns.
    pub(crate) const C: u32 = 3;
    /// The forward bias.
    pub(crate) const BIAS: u32 = 4;
    /// A second pass's input: reduce_splits' partial sums, col2im's columns,
    /// im2col's input.
    pub(crate) const PASS2_IN: u32 = 5;
    /// A second pass's output: y (a split forward GEMM), dw, dx, or
    /// im2col's columns.
    pub(crate) const PASS2_OUT: u32 = 6;
    /// The tap table (ops/taps.rs).
    pub(crate) const TAPS: u32 = 7;
    /// The A operand as vec4s, for the pointwise kernel (gemm_pointwise.wgsl).
    pub(crate) const A4: u32 = 8;
    /// The B operand as vec4s, for the pointwise kernel.
    pub(crate) const B4: u32 = 9;
    /// What the pointwise kernel writes (slot C), as vec4s.
    pub(crate) const C4: u32 = 10;
    /// The A operand as vec2s, for Winograd's pair entries
    /// (winograd4.wgsl).
    pub(crate) const A2: u32 = 11;
    /// What Winograd's output transform writes (slot C), as vec2s.
    pub(crate) const C2: u32 = 12;

    /// The slot `kernel` writes its output at: C, or C4 for the pointwise
    /// kernels.
    pub(crate) fn output(kernel: crate::plan::ConvKernel) -> u32 {
        if kernel.pointwise() {
            C4
        } else {
            C
        }
    }

    /// The bindings of a GEMM entry point, from those of the tap-table
    /// kernels: the pointwise kernels read A and B and write C as vec4s,
    /// and read no tap table, `blocks_k4` reads B as vec4s; every other
    /// kernel binds them as given.
    pub(crate) fn for_kernel<'a>(
        kernel: crate::plan::ConvKernel,
        buffers: &[(u32, &'a dyn crate::gpu::Bindable)],
    ) -> Vec<(u32, &'a dyn crate::gpu::Bindable)> {
        use crate::plan::ConvKernel;
        let (a, b, taps) = match kernel {
            _ if kernel.pointwise() => (A4, B4, false),
            ConvKernel::BlocksK4 => (A, B4, true),
            _ => return buffers.to_vec(),
        };
        let c = output(kernel);
        buffers
            .iter()
            .filter(|(slot, _)| taps || *slot != TAPS)
            .map(|&(slot, buffer)| match slot {
                A => (a, buffer),
                B => (b, buffer),
                C => (c, buffer),
                _ => (slot, buffer),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::slot::*;
    use super::ConvUniform;
    use crate::gpu::{check_uniform_layout, fields, Shader};

    #[test]
    fn layout_matches_wgsl() {
        let fields = fields!(ConvUniform: n, c, h, w, k, r, s, groups, ho, wo, stride_h,
            stride_w, pad_h, pad_w, dil_h, dil_w, c_per_group, k_per_group, has_bias, grid_x,
            tiles_m, tiles_n, splits, split_len, phase_h, phase_w, rows_h, rows_w, taps_len, _pad);
        let size = std::mem::size_of::<ConvUniform>();
        for shader in [
            Shader::Conv2dForward,
            Shader::Conv2dInputGrad,
            Shader::Conv2dInputGradCols,
            Shader::Conv2dWeightGrad,
            Shader::BiasGrad,
            Shader::Im2col,
        ] {
            check_uniform_layout(shader, "ConvParams", size, &fields);
        }
    }

    /// The pipeline constants say what the uniform says: each flips with
    /// its own field and no other.
    #[test]
    fn constants_follow_the_uniform() {
        let geo = |x: &[usize], w: &[usize]| {
            crate::Conv2dGeometry::new("test", x, w, &Default::default()).unwrap()
        };
        let value = |u: &ConvUniform| u.constants().map(|(_, v)| v);
        let names = ConvUniform::default().constants().map(|(n, _)| n);
        assert_eq!(names, ["X_PLANE_ONE", "Y_PLANE_ONE", "SPLIT_K", "ADD_BIAS"]);
        let mut conv = ConvUniform::new(&geo(&[2, 3, 5, 5], &[4, 3, 3, 3]), 1);
        assert_eq!(value(&conv), [0, 0, 0, 0]);
        conv.splits = 2;
        assert_eq!(value(&conv), [0, 0, 1, 0]);
        conv.splits = 1;
        conv.has_bias = 1;
        assert_eq!(value(&conv), [0, 0, 0, 1]);
        // A 3x3 kernel over a 3x3 image: y's plane is one value, x's is not.
        let to_one = ConvUniform::new(&geo(&[2, 3, 3, 3], &[4, 3, 3, 3]), 1);
        assert_eq!(value(&to_one), [0, 1, 0, 0]);
        let linear = ConvUniform::new(&geo(&[2, 3, 1, 1], &[4, 3, 1, 1]), 1);
        assert_eq!(value(&linear), [1, 1, 0, 0]);
    }

    /// Every storage variable of every conv module sits in the slot the
    /// host binds it at.
    #[test]
    fn conv_modules_declare_the_host_slots() {
        let winograd: &[(&str, u32)] = &[
            ("src", A),
            ("dst", C),
            ("bias", BIAS),
            ("src4", A4),
            ("dst4", C4),
            ("src2", A2),
            ("dst2", C2),
        ];
        let expected: [(Shader, &[(&str, u32)]); 8] = [
            (Shader::Winograd, winograd),
            (Shader::Winograd4, winograd),
            (
                Shader::Conv2dForward,
                &[
                    ("x", A),
                    ("wt", B),
                    ("y", C),
                    ("bias", BIAS),
                    ("partials", PASS2_IN),
                    ("y_sum", PASS2_OUT),
                    ("taps", TAPS),
                    ("x4", A4),
                    ("wt4", B4),
                    ("y4", C4),
                ],
            ),
            (
                Shader::Conv2dInputGrad,
                &[
                    ("dy", A),
                    ("wt", B),
                    ("dx", C),
                    ("taps", TAPS),
                    ("dy4", A4),
                    ("wt4", B4),
                    ("dx4", C4),
                ],
            ),
            (
                Shader::Conv2dInputGradCols,
                &[("dy", A), ("wt", B), ("cols", C), ("taps", TAPS)],
            ),
            (
                Shader::Conv2dWeightGrad,
                &[
                    ("x", A),
                    ("dy", B),
                    ("out", C),
                    ("partials", PASS2_IN),
                    ("dw", PASS2_OUT),
                    ("taps", TAPS),
                    ("x4", A4),
                    ("dy4", B4),
                    ("out4", C4),
                ],
            ),
            (Shader::BiasGrad, &[("dy", A), ("db", B)]),
            (
                Shader::Im2col,
                &[
                    ("src", PASS2_IN),
                    ("dst", PASS2_OUT),
                    ("src4", A4),
                    ("dst4", C4),
                ],
            ),
        ];
        for (shader, want) in expected {
            let module = naga::front::wgsl::parse_str(&shader.source()).unwrap();
            let mut got: Vec<(String, u32)> = module
                .global_variables
                .iter()
                .filter(|(_, v)| matches!(v.space, naga::AddressSpace::Storage { .. }))
                .map(|(_, v)| (v.name.clone().unwrap(), v.binding.as_ref().unwrap().binding))
                .collect();
            got.sort_by_key(|g| g.1);
            let want: Vec<(String, u32)> = want.iter().map(|&(n, b)| (n.to_string(), b)).collect();
            assert_eq!(got, want, "{}", shader.name());
        }
    }
}
