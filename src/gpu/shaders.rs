//! The kernel table: every WGSL file wgconv runs, pulled in at compile time
//! so a linked library needs no files at run time.
//!
//! A convolution module is `conv_params.wgsl` (the uniform shared by the
//! conv family) + `conv_index.wgsl` (stride division, tap decode) + the
//! op's own file (bindings, the `direct` entry point and the GEMM view of
//! the op) + `gemm_common.wgsl` (tile decode, four-row loaders) and
//! `gemm_tiled.wgsl`, `gemm_rows.wgsl` and `gemm_blocks.wgsl` (the GEMM
//! entry points of crate::plan::ConvKernel, written once against that
//! GEMM view), and for the three ops with a pointwise view (1x1 kernels,
//! linear layers) `gemm_pointwise.wgsl` and `gemm_pointwise_large.wgsl`,
//! for the forward and weight gradient `gemm_blocks_k4.wgsl` (B from
//! vec4s). Those three end with `block_slabs` from
//! `gemm_lanes_private.wgsl`, or, on a device where wgconv shares loads
//! across a subgroup's lanes (`crate::plan::shares_lanes`), from
//! `gemm_pointwise_shared.wgsl` with its `pointwise_shared` and
//! `pointwise_shared_wide` entry points:
//! a module with subgroup operations would not validate on a device
//! without them. The depthwise 3x3
//! kernels (`conv2d_depthwise.wgsl`), im2col and col2im (`im2col.wgsl`)
//! and Winograd's transforms
//! (`winograd.wgsl`, `winograd4.wgsl`, behind `winograd_common.wgsl`) are
//! modules of their own over the same uniform.
//! The element-wise kernels share `elementwise.wgsl` (uniform and index
//! rule) the same way.
//! Batch norm's module holds its fused ReLU + 2x2 max pooling too
//! (`batch_norm2d_max_pool2d.wgsl`, after `max_rule.wgsl`), which shares
//! its uniform, statistics and walks.
//! A kernel written against the value type `V` is built twice, behind
//! `vector1.wgsl` (V = f32) and `vector4.wgsl` (V = vec4<f32>): its
//! `…Vec4` module moves 4 consecutive values per load and store, for
//! tensors whose layout keeps each group of 4 inside one row of the
//! computation; the host module picks the width.

const CONV_PARAMS: &str = include_str!("../../shaders/conv_params.wgsl");
const CONV_INDEX: &str = include_str!("../../shaders/conv_index.wgsl");
const GEMM_COMMON: &str = include_str!("../../shaders/gemm_common.wgsl");
const GEMM_TILED: &str = include_str!("../../shaders/gemm_tiled.wgsl");
const GEMM_ROWS: &str = include_str!("../../shaders/gemm_rows.wgsl");
const GEMM_BLOCKS: &str = include_str!("../../shaders/gemm_blocks.wgsl");
const GEMM_POINTWISE: &str = include_str!("../../shaders/gemm_pointwise.wgsl");
const GEMM_POINTWISE_LARGE: &str = include_str!("../../shaders/gemm_pointwise_large.wgsl");
const GEMM_BLOCKS_K4: &str = include_str!("../../shaders/gemm_blocks_k4.wgsl");
const GEMM_LANES_PRIVATE: &str = include_str!("../../shaders/gemm_lanes_private.wgsl");
const GEMM_POINTWISE_SHARED: &str = include_str!("../../shaders/gemm_pointwise_shared.wgsl");
const CONV2D_FORWARD: &str = include_str!("../../shaders/conv2d_forward.wgsl");
const CONV2D_INPUT_GRAD: &str = include_str!("../../shaders/conv2d_input_grad.wgsl");
const CONV2D_INPUT_GRAD_COLS: &str = include_str!("../../shaders/conv2d_input_grad_cols.wgsl");
const CONV2D_WEIGHT_GRAD: &str = include_str!("../../shaders/conv2d_weight_grad.wgsl");
const IM2COL: &str = include_str!("../../shaders/im2col.wgsl");
const CONV2D_DEPTHWISE: &str = include_str!("../../shaders/conv2d_depthwise.wgsl");
const WINOGRAD_COMMON: &str = include_str!("../../shaders/winograd_common.wgsl");
const WINOGRAD: &str = include_str!("../../shaders/winograd.wgsl");
const WINOGRAD4: &str = include_str!("../../shaders/winograd4.wgsl");
const BIAS_GRAD: &str = include_str!("../../shaders/bias_grad.wgsl");
const SGD_STEP: &str = include_str!("../../shaders/sgd_step.wgsl");
const ADAM_STEP: &str = include_str!("../../shaders/adam_step.wgsl");
const ELEMENTWISE: &str = include_str!("../../shaders/elementwise.wgsl");
const ACTIVATION: &str = include_str!("../../shaders/activation.wgsl");
const CHANNELS: &str = include_str!("../../shaders/channels.wgsl");
const UPSAMPLE2D: &str = include_str!("../../shaders/upsample2d.wgsl");
const ADAPTIVE_AVG_POOL2D: &str = include_str!("../../shaders/adaptive_avg_pool2d.wgsl");
const SOFTMAX: &str = include_str!("../../shaders/softmax.wgsl");
const NORM: &str = include_str!("../../shaders/norm.wgsl");
const ADAPTIVE_MAX_POOL2D: &str = include_str!("../../shaders/adaptive_max_pool2d.wgsl");
const MAX_RULE: &str = include_str!("../../shaders/max_rule.wgsl");
const POINTWISE_LOSS: &str = include_str!("../../shaders/pointwise_loss.wgsl");
const NLL_LOSS: &str = include_str!("../../shaders/nll_loss.wgsl");
const ADD: &str = include_str!("../../shaders/add.wgsl");
const COPY: &str = include_str!("../../shaders/copy.wgsl");
const MSE_LOSS: &str = include_str!("../../shaders/mse_loss.wgsl");
const MUL: &str = include_str!("../../shaders/mul.wgsl");
const SOFTMAX_CROSS_ENTROPY: &str = include_str!("../../shaders/softmax_cross_entropy.wgsl");
const POOL2D_PARAMS: &str = include_str!("../../shaders/pool2d_params.wgsl");
const MAX_POOL2D: &str = include_str!("../../shaders/max_pool2d.wgsl");
const AVG_POOL2D: &str = include_str!("../../shaders/avg_pool2d.wgsl");
const VECTOR1: &str = include_str!("../../shaders/vector1.wgsl");
const VECTOR4: &str = include_str!("../../shaders/vector4.wgsl");
const BATCH_NORM2D: &str = include_str!("../../shaders/batch_norm2d.wgsl");
const BATCH_NORM2D_MAX_POOL2D: &str = include_str!("../../shaders/batch_norm2d_max_pool2d.wgsl");
const DROPOUT: &str = include_str!("../../shaders/dropout.wgsl");

/// A convolution module: the shared pieces around the op's own file, and
/// the kernels written against the views only some op files have
/// (`extra`: the pointwise view, and B as vec4s for `blocks_k4`).
fn conv_module(op: &str, extra: &[&str]) -> String {
    let gemm = [op, GEMM_COMMON, GEMM_TILED, GEMM_ROWS, GEMM_BLOCKS];
    [CONV_PARAMS, CONV_INDEX].concat() + &gemm.concat() + &extra.concat()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Shader {
    Conv2dForward,
    Conv2dInputGrad,
    Conv2dInputGradCols,
    Conv2dWeightGrad,
    Conv2dDepthwise,
    Im2col,
    Winograd,
    Winograd4,
    BiasGrad,
    SgdStep,
    AdamStep,
    AdamStepVec4,
    Activation,
    ActivationVec4,
    Add,
    AddVec4,
    Copy,
    CopyVec4,
    Mul,
    MulVec4,
    MseLoss,
    SoftmaxCrossEntropy,
    MaxPool2d,
    AvgPool2d,
    BatchNorm2d,
    BatchNorm2dVec4,
    Dropout,
    DropoutVec4,
    Channels,
    ChannelsVec4,
    Upsample2d,
    AdaptiveAvgPool2d,
    Softmax,
    PointwiseLoss,
    NllLoss,
    Norm,
    AdaptiveMaxPool2d,
}

impl Shader {
    #[cfg(test)]
    pub(crate) const ALL: [Shader; 37] = [
        Shader::Conv2dForward,
        Shader::Conv2dInputGrad,
        Shader::Conv2dInputGradCols,
        Shader::Conv2dWeightGrad,
        Shader::Conv2dDepthwise,
        Shader::Im2col,
        Shader::Winograd,
        Shader::Winograd4,
        Shader::BiasGrad,
        Shader::SgdStep,
        Shader::AdamStep,
        Shader::AdamStepVec4,
        Shader::Activation,
        Shader::ActivationVec4,
        Shader::Add,
        Shader::AddVec4,
        Shader::Copy,
        Shader::CopyVec4,
        Shader::Mul,
        Shader::MulVec4,
        Shader::MseLoss,
        Shader::SoftmaxCrossEntropy,
        Shader::MaxPool2d,
        Shader::AvgPool2d,
        Shader::BatchNorm2d,
        Shader::BatchNorm2dVec4,
        Shader::Dropout,
        Shader::DropoutVec4,
        Shader::Channels,
        Shader::ChannelsVec4,
        Shader::Upsample2d,
        Shader::AdaptiveAvgPool2d,
        Shader::Softmax,
        Shader::PointwiseLoss,
        Shader::NllLoss,
        Shader::Norm,
        Shader::AdaptiveMaxPool2d,
    ];

    /// The op name, shared by the shader file, the host function and the
    /// CPU reference.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Shader::Conv2dForward => "conv2d_forward",
            Shader::Conv2dInputGrad => "conv2d_input_grad",
            Shader::Conv2dInputGradCols => "conv2d_input_grad_cols",
            Shader::Conv2dWeightGrad => "conv2d_weight_grad",
            Shader::Conv2dDepthwise => "conv2d_depthwise",
            Shader::Im2col => "im2col",
            Shader::Winograd => "winograd",
            Shader::Winograd4 => "winograd4",
            Shader::BiasGrad => "bias_grad",
            Shader::SgdStep => "sgd_step",
            Shader::AdamStep | Shader::AdamStepVec4 => "adam_step",
            Shader::Activation | Shader::ActivationVec4 => "activation",
            Shader::Add | Shader::AddVec4 => "add",
            Shader::Copy | Shader::CopyVec4 => "copy",
            Shader::Mul | Shader::MulVec4 => "mul",
            Shader::MseLoss => "mse_loss",
            Shader::SoftmaxCrossEntropy => "softmax_cross_entropy",
            Shader::MaxPool2d => "max_pool2d",
            Shader::AvgPool2d => "avg_pool2d",
            Shader::BatchNorm2d | Shader::BatchNorm2dVec4 => "batch_norm2d",
            Shader::Dropout | Shader::DropoutVec4 => "dropout",
            Shader::Channels | Shader::ChannelsVec4 => "channels",
            Shader::Upsample2d => "upsample2d",
            Shader::AdaptiveAvgPool2d => "adaptive_avg_pool2d",
            Shader::Softmax => "softmax",
            Shader::PointwiseLoss => "pointwise_loss",
            Shader::NllLoss => "nll_loss",
            Shader::Norm => "norm",
            Shader::AdaptiveMaxPool2d => "adaptive_max_pool2d",
        }
    }

    /// The module to run over data whose rows (the runs a vector must not
    /// cross: a whole tensor, or one plane) hold `row_len` values, and its
    /// width: the vec4 module where the kernel has one and `row_len` is a
    /// multiple of 4, else this one at width 1.
    pub(crate) fn at_width(self, row_len: usize) -> (Shader, usize) {
        match self.vec4() {
            Some(wide) if row_len.is_multiple_of(4) => (wide, 4),
            _ => (self, 1),
        }
    }

    /// The module of the same kernels at width 4 (vector4.wgsl), for
    /// kernels built at two widths.
    fn vec4(self) -> Option<Shader> {
        match self {
            Shader::AdamStep => Some(Shader::AdamStepVec4),
            Shader::Activation => Some(Shader::ActivationVec4),
            Shader::Add => Some(Shader::AddVec4),
            Shader::Copy => Some(Shader::CopyVec4),
            Shader::Mul => Some(Shader::MulVec4),
            Shader::BatchNorm2d => Some(Shader::BatchNorm2dVec4),
            Shader::Dropout => Some(Shader::DropoutVec4),
            Shader::Channels => Some(Shader::ChannelsVec4),
            _ => None,
        }
    }

    /// The complete WGSL text of the module, as built on a device without
    /// shared lanes.
    #[cfg(test)]
    pub(crate) fn source(self) -> String {
        self.source_for(false)
    }

    /// The complete WGSL text of the module on a device that shares
    /// loads across a subgroup's lanes (`shared_lanes`: the conv modules
    /// then hold `pointwise_shared`, and need subgroups) or not.
    pub(crate) fn source_for(self, shared_lanes: bool) -> String {
        let lanes = if shared_lanes {
            GEMM_POINTWISE_SHARED
        } else {
            GEMM_LANES_PRIVATE
        };
        match self {
            Shader::Conv2dForward => conv_module(
                CONV2D_FORWARD,
                &[GEMM_POINTWISE, GEMM_POINTWISE_LARGE, GEMM_BLOCKS_K4, lanes],
            ),
            Shader::Conv2dInputGrad => conv_module(
                CONV2D_INPUT_GRAD,
                &[GEMM_POINTWISE, GEMM_POINTWISE_LARGE, lanes],
            ),
            Shader::Conv2dInputGradCols => conv_module(CONV2D_INPUT_GRAD_COLS, &[]),
            Shader::Conv2dWeightGrad => conv_module(
                CONV2D_WEIGHT_GRAD,
                &[GEMM_POINTWISE, GEMM_POINTWISE_LARGE, GEMM_BLOCKS_K4, lanes],
            ),
            Shader::Conv2dDepthwise => [CONV_PARAMS, CONV2D_DEPTHWISE].concat(),
            Shader::Im2col => [CONV_PARAMS, CONV_INDEX, IM2COL].concat(),
            Shader::Winograd => [CONV_PARAMS, WINOGRAD_COMMON, WINOGRAD].concat(),
            Shader::Winograd4 => [CONV_PARAMS, WINOGRAD_COMMON, WINOGRAD4].concat(),
            Shader::BiasGrad => [CONV_PARAMS, BIAS_GRAD].concat(),
            Shader::SgdStep => SGD_STEP.to_string(),
            Shader::AdamStep => [VECTOR1, ADAM_STEP].concat(),
            Shader::AdamStepVec4 => [VECTOR4, ADAM_STEP].concat(),
            Shader::Activation => [ELEMENTWISE, VECTOR1, ACTIVATION].concat(),
            Shader::ActivationVec4 => [ELEMENTWISE, VECTOR4, ACTIVATION].concat(),
            Shader::Add => [ELEMENTWISE, VECTOR1, ADD].concat(),
            Shader::AddVec4 => [ELEMENTWISE, VECTOR4, ADD].concat(),
            Shader::Copy => [ELEMENTWISE, VECTOR1, COPY].concat(),
            Shader::CopyVec4 => [ELEMENTWISE, VECTOR4, COPY].concat(),
            Shader::Mul => [ELEMENTWISE, VECTOR1, MUL].concat(),
            Shader::MulVec4 => [ELEMENTWISE, VECTOR4, MUL].concat(),
            Shader::MseLoss => [ELEMENTWISE, MSE_LOSS].concat(),
            Shader::SoftmaxCrossEntropy => [ELEMENTWISE, SOFTMAX_CROSS_ENTROPY].concat(),
            Shader::MaxPool2d => [POOL2D_PARAMS, MAX_RULE, MAX_POOL2D].concat(),
            Shader::AvgPool2d => [POOL2D_PARAMS, AVG_POOL2D].concat(),
            Shader::BatchNorm2d => {
                [VECTOR1, BATCH_NORM2D, MAX_RULE, BATCH_NORM2D_MAX_POOL2D].concat()
            }
            Shader::BatchNorm2dVec4 => {
                [VECTOR4, BATCH_NORM2D, MAX_RULE, BATCH_NORM2D_MAX_POOL2D].concat()
            }
            Shader::Dropout => [VECTOR1, DROPOUT].concat(),
            Shader::DropoutVec4 => [VECTOR4, DROPOUT].concat(),
            Shader::Channels => [VECTOR1, CHANNELS].concat(),
            Shader::ChannelsVec4 => [VECTOR4, CHANNELS].concat(),
            Shader::Upsample2d => UPSAMPLE2D.to_string(),
            Shader::AdaptiveAvgPool2d => ADAPTIVE_AVG_POOL2D.to_string(),
            Shader::Softmax => SOFTMAX.to_string(),
            Shader::PointwiseLoss => [ELEMENTWISE, POINTWISE_LOSS].concat(),
            Shader::NllLoss => [ELEMENTWISE, NLL_LOSS].concat(),
            Shader::Norm => NORM.to_string(),
            Shader::AdaptiveMaxPool2d => [MAX_RULE, ADAPTIVE_MAX_POOL2D].concat(),
        }
    }
}

/// `(name, byte offset)` of every member of a `#[repr(C)]` uniform, for
/// [`check_uniform_layout`]: `fields!(SgdUniform: lr, momentum)`.
#[cfg(test)]
macro_rules! fields {
    ($t:ty: $($f:ident),+ $(,)?) => {
        [$((stringify!($f), std::mem::offset_of!($t, $f))),+]
    };
}
#[cfg(test)]
pub(crate) use fields;

/// Asserts that WGSL struct `wgsl_struct` of `shader`'s module has the
/// members `fields` (name, offset) in this order — padding members
/// (named `_…`) aside — and `size` bytes, as naga lays it out for a
/// uniform: the Rust mirror and the shader then read the same bytes.
#[cfg(test)]
pub(crate) fn check_uniform_layout(
    shader: Shader,
    wgsl_struct: &str,
    size: usize,
    fields: &[(&str, usize)],
) {
    let module = naga::front::wgsl::parse_str(&shader.source()).expect("module parses");
    let ty = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some(wgsl_struct))
        .unwrap_or_else(|| panic!("{}: no struct {wgsl_struct}", shader.name()));
    let naga::TypeInner::Struct { members, span } = &ty.1.inner else {
        panic!("{wgsl_struct} is not a struct");
    };
    let wgsl: Vec<(String, usize)> = members
        .iter()
        .filter_map(|m| {
            let name = m.name.clone().unwrap_or_default();
            (!name.starts_with('_')).then_some((name, m.offset as usize))
        })
        .collect();
    let rust: Vec<(String, usize)> = fields
        .iter()
        .filter(|(n, _)| !n.starts_with('_'))
        .map(|&(n, o)| (n.to_string(), o))
        .collect();
    assert_eq!(wgsl, rust, "{wgsl_struct} in {}", shader.name());
    assert_eq!(
        *span as usize,
        size,
        "{wgsl_struct} size in {}",
        shader.name()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validated(k: Shader) -> (naga::Module, naga::valid::ModuleInfo) {
        validated_for(k, false)
    }

    /// `k`'s module with or without shared lanes, validated with WebGPU's
    /// capabilities (the default), not everything naga knows, plus
    /// subgroups in compute shaders for the shared-lanes build.
    fn validated_for(k: Shader, shared_lanes: bool) -> (naga::Module, naga::valid::ModuleInfo) {
        let source = k.source_for(shared_lanes);
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{}: {}", k.name(), e.emit_to_string(&source)));
        let capabilities = if shared_lanes {
            naga::valid::Capabilities::default() | naga::valid::Capabilities::SUBGROUP
        } else {
            naga::valid::Capabilities::default()
        };
        let mut validator =
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities);
        if shared_lanes {
            validator
                .subgroup_stages(naga::valid::ShaderStages::COMPUTE)
                .subgroup_operations(naga::valid::SubgroupOperationSet::all());
        }
        let info = validator
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}: {e:?}", k.name()));
        (module, info)
    }

    /// Every module parses and validates with naga, without a GPU, in
    /// both builds.
    #[test]
    fn all_kernels_validate() {
        for k in Shader::ALL {
            validated(k);
            validated_for(k, true);
        }
    }

    /// The shared-lanes build adds `pointwise_shared` to the three conv
    /// modules, which alone use subgroups: without the capability they
    /// do not validate, and every other module is the same text.
    #[test]
    fn only_the_conv_modules_differ_with_shared_lanes() {
        for k in Shader::ALL {
            let (private, shared) = (k.source_for(false), k.source_for(true));
            let conv = matches!(
                k,
                Shader::Conv2dForward | Shader::Conv2dInputGrad | Shader::Conv2dWeightGrad
            );
            assert_eq!(private != shared, conv, "{}", k.name());
            assert_eq!(
                shared.contains("fn pointwise_shared("),
                conv,
                "{}",
                k.name()
            );
            if conv {
                let module = naga::front::wgsl::parse_str(&shared).unwrap();
                let refused = naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::default(),
                )
                .validate(&module);
                assert!(refused.is_err(), "{} validated without subgroups", k.name());
            }
        }
    }

    /// The shared-lanes conv modules translate to SPIR-V, the path of the
    /// Vulkan CPU adapters that build them.
    #[test]
    fn shared_lanes_modules_translate_to_spirv() {
        for k in [
            Shader::Conv2dForward,
            Shader::Conv2dInputGrad,
            Shader::Conv2dWeightGrad,
        ] {
            let (module, info) = validated_for(k, true);
            for constants in constant_sets(k) {
                let (module, info) = naga::back::pipeline_constants::process_overrides(
                    &module, &info, None, &constants,
                )
                .unwrap_or_else(|e| panic!("{} with {constants:?}: {e}", k.name()));
                naga::back::spv::write_vec(&module, &info, &Default::default(), None)
                    .unwrap_or_else(|e| panic!("{} to SPIR-V: {e}", k.name()));
            }
        }
    }

    /// The sets of pipeline constants `k`'s pipelines are built with in
    /// these tests: the defaults, for im2col.wgsl also col2im's of a
    /// stride-2 3x3 layer and im2col_rows' of one, for the depthwise
    /// kernels a whole-row input gradient's (stride 1, 7 vec4s a row), a
    /// stride-2x1 layer's and its forward with a bias, and for the GEMM
    /// modules (whose constants have no defaults) those of a linear layer
    /// with a bias and of a split 3x3 convolution.
    fn constant_sets(k: Shader) -> Vec<naga::back::PipelineConstants> {
        let set = |c: &[(&str, u32)]| -> naga::back::PipelineConstants {
            c.iter()
                .map(|&(n, v)| (n.to_string(), f64::from(v)))
                .collect()
        };
        let geo = |x: &[usize], w: &[usize], p: &crate::Conv2dParams| {
            crate::Conv2dGeometry::new("test", x, w, p).unwrap()
        };
        match k {
            Shader::Im2col => {
                let g = geo(
                    &[2, 4, 9, 9],
                    &[4, 4, 3, 3],
                    &crate::Conv2dParams::square(2, 1),
                );
                let rows = geo(
                    &[2, 4, 8, 16],
                    &[4, 4, 3, 3],
                    &crate::Conv2dParams::square(2, 1),
                );
                vec![
                    set(&[]),
                    set(&crate::ops::conv2d_input_grad::col2im_constants(&g)),
                    set(&crate::ops::im2col::rows_constants(&rows, "im2col_rows")),
                ]
            }
            Shader::Conv2dDepthwise => {
                use crate::ops::conv2d_depthwise::constants;
                let dw = |x: &[usize], k: usize, stride: [u32; 2]| {
                    let p = crate::Conv2dParams {
                        stride,
                        groups: x[1] as u32,
                        ..crate::Conv2dParams::square(1, 1)
                    };
                    geo(x, &[k, 1, 3, 3], &p)
                };
                let rows = dw(&[2, 1, 7, 28], 8, [1, 1]);
                let strided = dw(&[2, 4, 9, 9], 4, [2, 1]);
                vec![
                    set(&constants(&rows, "input_grad_rows", false)),
                    set(&constants(&strided, "input_grad", false)),
                    set(&constants(&strided, "forward", true)),
                ]
            }
            Shader::Conv2dForward
            | Shader::Conv2dInputGrad
            | Shader::Conv2dInputGradCols
            | Shader::Conv2dWeightGrad => {
                let linear = geo(&[3, 8, 1, 1], &[4, 8, 1, 1], &Default::default());
                let mut u = crate::ops::ConvUniform::new(&linear, 1);
                u.has_bias = 1;
                let conv = geo(
                    &[2, 4, 9, 9],
                    &[4, 4, 3, 3],
                    &crate::Conv2dParams::square(1, 1),
                );
                let mut split = crate::ops::ConvUniform::new(&conv, 1);
                split.splits = 3;
                vec![set(&u.constants()), set(&split.constants())]
            }
            _ => vec![set(&[])],
        }
    }

    /// Every module translates to the shading languages of Vulkan
    /// (SPIR-V), Metal (MSL) and DX12 (HLSL) with naga's back ends, the
    /// path wgpu takes on those platforms: Metal and DX12 cannot run here,
    /// but a translation error (or a back-end panic) shows here first.
    /// Pipeline constants are applied first, as wgpu applies them
    /// ([`constant_sets`]).
    #[test]
    fn all_kernels_translate_to_spirv_msl_and_hlsl() {
        for k in Shader::ALL {
            let (module, info) = validated(k);
            // The GEMM modules' constants and the depthwise module's row
            // width have no defaults: a pipeline of a module that reads
            // them, built without them, is refused, not run with a guess.
            let none = naga::back::PipelineConstants::default();
            let refused =
                naga::back::pipeline_constants::process_overrides(&module, &info, None, &none)
                    .is_err();
            let reads_them = matches!(
                k,
                Shader::Conv2dForward
                    | Shader::Conv2dInputGrad
                    | Shader::Conv2dWeightGrad
                    | Shader::Conv2dDepthwise
            );
            assert_eq!(refused, reads_them, "{}", k.name());
            for constants in constant_sets(k) {
                let (module, info) = naga::back::pipeline_constants::process_overrides(
                    &module, &info, None, &constants,
                )
                .unwrap_or_else(|e| panic!("{} with {constants:?}: {e}", k.name()));
                translates(k, &module, &info);
            }
        }
    }

    /// `k`'s module (its pipeline constants applied) to SPIR-V, MSL and
    /// HLSL.
    fn translates(k: Shader, module: &naga::Module, info: &naga::valid::ModuleInfo) {
        naga::back::spv::write_vec(module, info, &Default::default(), None)
            .unwrap_or_else(|e| panic!("{} to SPIR-V: {e}", k.name()));
        naga::back::msl::write_string(module, info, &Default::default(), &Default::default())
            .unwrap_or_else(|e| panic!("{} to MSL: {e}", k.name()));
        let options = naga::back::hlsl::Options::default();
        let pipeline = naga::back::hlsl::PipelineOptions::default();
        let mut hlsl = String::new();
        naga::back::hlsl::Writer::new(&mut hlsl, &options, &pipeline)
            .write(module, info, None)
            .unwrap_or_else(|e| panic!("{} to HLSL: {e}", k.name()));
        assert!(!hlsl.is_empty(), "{}: empty HLSL", k.name());
    }
}
