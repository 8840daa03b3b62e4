//! The kernel table: every WGSL file wgconv runs, pulled in at compile time
//! so a linked library needs no files at run time.
//!
//! A convolution module is `conv_params.wgsl` (the uniform shared by the
//! conv family) + the op's own file (bindings, the `direct` entry point and
//! the GEMM view of the op) + `gemm_tiled.wgsl`, `gemm_rows.wgsl` and
//! `gemm_blocks.wgsl` (the `tiled*`, `rows` and `blocks` entry points,
//! written once against that GEMM view).
//! The element-wise kernels share `elementwise.wgsl` (uniform and index
//! rule) the same way.

const CONV_PARAMS: &str = include_str!("../../shaders/conv_params.wgsl");
const GEMM_TILED: &str = include_str!("../../shaders/gemm_tiled.wgsl");
const GEMM_ROWS: &str = include_str!("../../shaders/gemm_rows.wgsl");
const GEMM_BLOCKS: &str = include_str!("../../shaders/gemm_blocks.wgsl");
const CONV2D_FORWARD: &str = include_str!("../../shaders/conv2d_forward.wgsl");
const CONV2D_INPUT_GRAD: &str = include_str!("../../shaders/conv2d_input_grad.wgsl");
const CONV2D_INPUT_GRAD_COLS: &str = include_str!("../../shaders/conv2d_input_grad_cols.wgsl");
const CONV2D_WEIGHT_GRAD: &str = include_str!("../../shaders/conv2d_weight_grad.wgsl");
const BIAS_GRAD: &str = include_str!("../../shaders/bias_grad.wgsl");
const SGD_STEP: &str = include_str!("../../shaders/sgd_step.wgsl");
const ADAM_STEP: &str = include_str!("../../shaders/adam_step.wgsl");
const ELEMENTWISE: &str = include_str!("../../shaders/elementwise.wgsl");
const ACTIVATION: &str = include_str!("../../shaders/activation.wgsl");
const ADD: &str = include_str!("../../shaders/add.wgsl");
const MSE_LOSS: &str = include_str!("../../shaders/mse_loss.wgsl");
const SOFTMAX_CROSS_ENTROPY: &str = include_str!("../../shaders/softmax_cross_entropy.wgsl");
const MAX_POOL2D: &str = include_str!("../../shaders/max_pool2d.wgsl");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kernel {
    Conv2dForward,
    Conv2dInputGrad,
    Conv2dInputGradCols,
    Conv2dWeightGrad,
    BiasGrad,
    SgdStep,
    AdamStep,
    Activation,
    Add,
    MseLoss,
    SoftmaxCrossEntropy,
    MaxPool2d,
}

impl Kernel {
    #[cfg(test)]
    pub(crate) const ALL: [Kernel; 12] = [
        Kernel::Conv2dForward,
        Kernel::Conv2dInputGrad,
        Kernel::Conv2dInputGradCols,
        Kernel::Conv2dWeightGrad,
        Kernel::BiasGrad,
        Kernel::SgdStep,
        Kernel::AdamStep,
        Kernel::Activation,
        Kernel::Add,
        Kernel::MseLoss,
        Kernel::SoftmaxCrossEntropy,
        Kernel::MaxPool2d,
    ];

    /// The op name, shared by the shader file, the host function and the
    /// CPU reference.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kernel::Conv2dForward => "conv2d_forward",
            Kernel::Conv2dInputGrad => "conv2d_input_grad",
            Kernel::Conv2dInputGradCols => "conv2d_input_grad_cols",
            Kernel::Conv2dWeightGrad => "conv2d_weight_grad",
            Kernel::BiasGrad => "bias_grad",
            Kernel::SgdStep => "sgd_step",
            Kernel::AdamStep => "adam_step",
            Kernel::Activation => "activation",
            Kernel::Add => "add",
            Kernel::MseLoss => "mse_loss",
            Kernel::SoftmaxCrossEntropy => "softmax_cross_entropy",
            Kernel::MaxPool2d => "max_pool2d",
        }
    }

    /// The complete WGSL text of the module.
    pub(crate) fn source(self) -> String {
        match self {
            Kernel::Conv2dForward => [
                CONV_PARAMS,
                CONV2D_FORWARD,
                GEMM_TILED,
                GEMM_ROWS,
                GEMM_BLOCKS,
            ]
            .concat(),
            Kernel::Conv2dInputGrad => [
                CONV_PARAMS,
                CONV2D_INPUT_GRAD,
                GEMM_TILED,
                GEMM_ROWS,
                GEMM_BLOCKS,
            ]
            .concat(),
            Kernel::Conv2dInputGradCols => [
                CONV_PARAMS,
                CONV2D_INPUT_GRAD_COLS,
                GEMM_TILED,
                GEMM_ROWS,
                GEMM_BLOCKS,
            ]
            .concat(),
            Kernel::Conv2dWeightGrad => [
                CONV_PARAMS,
                CONV2D_WEIGHT_GRAD,
                GEMM_TILED,
                GEMM_ROWS,
                GEMM_BLOCKS,
            ]
            .concat(),
            Kernel::BiasGrad => [CONV_PARAMS, BIAS_GRAD].concat(),
            Kernel::SgdStep => SGD_STEP.to_string(),
            Kernel::AdamStep => ADAM_STEP.to_string(),
            Kernel::Activation => [ELEMENTWISE, ACTIVATION].concat(),
            Kernel::Add => [ELEMENTWISE, ADD].concat(),
            Kernel::MseLoss => [ELEMENTWISE, MSE_LOSS].concat(),
            Kernel::SoftmaxCrossEntropy => [ELEMENTWISE, SOFTMAX_CROSS_ENTROPY].concat(),
            Kernel::MaxPool2d => MAX_POOL2D.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module parses and validates with naga, without a GPU.
    #[test]
    fn all_kernels_validate() {
        for k in Kernel::ALL {
            let module = naga::front::wgsl::parse_str(&k.source())
                .unwrap_or_else(|e| panic!("{}: {}", k.name(), e.emit_to_string(&k.source())));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::all(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}: {e:?}", k.name()));
        }
    }
}
