//! `ConvUniform`: the parameters of every convolution-family kernel, laid
//! out exactly as `struct ConvParams` in shaders/conv_params.wgsl.

use crate::shape::Conv2dGeometry;

/// Mirror of WGSL `ConvParams`: 32 u32 fields, 128 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ConvUniform {
    pub n: u32,
    pub c: u32,
    pub h: u32,
    pub w: u32,
    pub k: u32,
    pub r: u32,
    pub s: u32,
    pub groups: u32,
    pub ho: u32,
    pub wo: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub pad_h: u32,
    pub pad_w: u32,
    pub dil_h: u32,
    pub dil_w: u32,
    pub c_per_group: u32,
    pub k_per_group: u32,
    pub has_bias: u32,
    pub grid_x: u32,
    pub tiles_m: u32,
    pub tiles_n: u32,
    pub splits: u32,
    pub split_len: u32,
    /// Stride phase of an input-gradient GEMM (see conv2d_input_grad.wgsl).
    pub phase_h: u32,
    pub phase_w: u32,
    pub rows_h: u32,
    pub rows_w: u32,
    pub taps_len: u32,
    pub _pad: [u32; 3],
}

impl ConvUniform {
    /// The geometry part; tiling fields start as a single 1x1x1 tile and
    /// are filled by the op that dispatches the tiled kernel. Every value
    /// fits in u32 because [`Conv2dGeometry::new`] bounds element counts
    /// by 2^32 - 1 and axis extents by 2^30.
    pub fn new(g: &Conv2dGeometry, grid_x: u32) -> Self {
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn layout_matches_wgsl() {
        // 32 u32 fields in conv_params.wgsl, a multiple of 16 bytes.
        assert_eq!(std::mem::size_of::<super::ConvUniform>(), 128);
        let wgsl = include_str!("../../shaders/conv_params.wgsl");
        let body = &wgsl[wgsl.find("struct ConvParams").unwrap()..];
        let body = &body[..body.find('}').unwrap()];
        assert_eq!(body.matches(": u32").count(), 32);
    }
}
