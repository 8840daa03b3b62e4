//! The convolution plan: which kernel and which algorithm run a
//! convolution. This module is the only place that decides; the ops record
//! whatever plan they are handed, the tuner (ops/tune.rs) measures the
//! plans [`candidates`] lists, and `Gpu::explain` and the benchmark show
//! the plan of any problem.
//!
//! Three things are kept apart:
//! - the **problem** ([`ConvProblem`]): which convolution ([`ConvOp`]) of
//!   which geometry, and the GEMM it is (rows, columns, reduction);
//! - the **plan** ([`ConvPlan`]): a concrete kernel ([`ConvKernel`], an
//!   entry point of the conv shader modules with its tile), an
//!   [`Algorithm`] (one GEMM, one GEMM per stride phase, or columns then
//!   col2im) and, for the weight gradient, the split of the reduction;
//! - the **policy** ([`Policy`]) that picks the plan: `Auto` (the fixed
//!   rule of [`plan`]), `Tuned` (measured per problem, ops/tune.rs), or
//!   `Force(kernel)`.
//!
//! Everything here is pure: a plan depends on the problem and on a few
//! facts about the adapter ([`AdapterFacts`]), so Auto's plans can be
//! listed without an adapter (the snapshot test in tests/plans.rs).
//! Measured figures behind the rule are in docs/performance.md.

use crate::{Conv2dGeometry, Conv2dParams, Error};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// The most iterations any loop of any kernel runs in one invocation,
/// counted over the whole invocation (a nested loop's count includes every
/// pass of the loops around it). Mesa's llvmpipe and lavapipe (Mesa 22.x)
/// silently leave a loop after 65 535 such iterations — the result is then
/// simply wrong — so wgconv splits work until no loop gets there, on every
/// adapter, and refuses (`LimitExceeded`) what it cannot split.
pub const MAX_LOOP_TRIPS: usize = 65_535;

/// Reduction depth per step of the tiled entry points (TILE_K in
/// gemm_tiled.wgsl); split-K ranges are multiples of it.
pub(crate) const TILE_K: usize = 16;

/// GEMMs with fewer columns than this are narrow: a GEMM kernel leaves most
/// of its tile or block idle on them. Auto runs them direct, and the input
/// gradient of C/g < 8 runs in two steps under every GEMM kernel.
pub const NARROW_COLUMNS: usize = 8;

/// The three convolutions of training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConvOp {
    /// `y = conv2d(x, w)`.
    Forward,
    /// `dx` from `dy` and `w`.
    InputGrad,
    /// `dw` from `x` and `dy`.
    WeightGrad,
}

impl ConvOp {
    pub const ALL: [ConvOp; 3] = [ConvOp::Forward, ConvOp::InputGrad, ConvOp::WeightGrad];

    /// `forward`, `input_grad` or `weight_grad` (the benchmark's `op`).
    pub const fn name(self) -> &'static str {
        match self {
            ConvOp::Forward => "forward",
            ConvOp::InputGrad => "input_grad",
            ConvOp::WeightGrad => "weight_grad",
        }
    }

    /// The op's name in the shader file, host function and CPU reference.
    pub const fn kernel_name(self) -> &'static str {
        match self {
            ConvOp::Forward => "conv2d_forward",
            ConvOp::InputGrad => "conv2d_input_grad",
            ConvOp::WeightGrad => "conv2d_weight_grad",
        }
    }

    /// The op named `forward`, `input_grad` or `weight_grad`.
    pub fn parse(s: &str) -> Option<ConvOp> {
        ConvOp::ALL.into_iter().find(|o| o.name() == s)
    }
}

/// The GEMM a convolution is computed as, per group:
/// `C[m][n] = Σ_kk A[m][kk]·B[kk][n]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmDims {
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

/// One convolution to run: the op and its geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvProblem {
    pub op: ConvOp,
    pub geometry: Conv2dGeometry,
}

impl ConvProblem {
    /// The `op` convolution of input shape `x_shape` (the forward input,
    /// for every op) and weight shape `w_shape`; fails on invalid geometry
    /// (see [`Conv2dGeometry::new`]).
    pub fn new(
        op: ConvOp,
        x_shape: &[usize],
        w_shape: &[usize],
        p: &Conv2dParams,
    ) -> Result<ConvProblem, Error> {
        let geometry = Conv2dGeometry::new(op.kernel_name(), x_shape, w_shape, p)?;
        Ok(ConvProblem { op, geometry })
    }

    /// The GEMM per group, in the one-step view of each op:
    ///
    /// | op | rows (m) | columns (n) | reduction (k) |
    /// | --- | --- | --- | --- |
    /// | forward | N·Ho·Wo | K/g | C/g·R·S |
    /// | input grad | N·H·W | C/g | K/g·R·S |
    /// | weight grad | C/g·R·S | K/g | N·Ho·Wo |
    pub fn gemm(&self) -> GemmDims {
        let g = &self.geometry;
        match self.op {
            ConvOp::Forward => GemmDims {
                m: g.n * g.ho * g.wo,
                n: g.k_per_group(),
                k: g.c_per_group() * g.r * g.s,
            },
            ConvOp::InputGrad => GemmDims {
                m: g.n * g.h * g.w,
                n: g.c_per_group(),
                k: g.k_per_group() * g.r * g.s,
            },
            ConvOp::WeightGrad => GemmDims {
                m: g.c_per_group() * g.r * g.s,
                n: g.k_per_group(),
                k: g.n * g.ho * g.wo,
            },
        }
    }

    /// The GEMM of the two-step input gradient's first step: rows
    /// N·Ho·Wo, columns C/g·R·S (one per tap and input channel), reduction
    /// K/g (shaders/conv2d_input_grad_cols.wgsl).
    pub fn columns_gemm(&self) -> GemmDims {
        let g = &self.geometry;
        GemmDims {
            m: g.n * g.ho * g.wo,
            n: g.c_per_group() * g.r * g.s,
            k: g.k_per_group(),
        }
    }

    /// Shapes of the op's two operands and its result, in the order the
    /// kernels bind them: forward `(x, w) → y`, input grad `(dy, w) → dx`,
    /// weight grad `(x, dy) → dw`.
    pub fn operand_shapes(&self) -> [[usize; 4]; 3] {
        let g = &self.geometry;
        match self.op {
            ConvOp::Forward => [g.x_shape(), g.w_shape(), g.y_shape()],
            ConvOp::InputGrad => [g.y_shape(), g.w_shape(), g.x_shape()],
            ConvOp::WeightGrad => [g.x_shape(), g.y_shape(), g.w_shape()],
        }
    }

    /// Entries of the op's tap table: the decomposition of each reduction
    /// index the GEMM kernels load instead of dividing (ops/taps.rs).
    pub fn tap_entries(&self) -> usize {
        let g = &self.geometry;
        match self.op {
            ConvOp::Forward => g.c_per_group() * g.r * g.s,
            ConvOp::InputGrad => g.k_per_group() * g.r * g.s,
            ConvOp::WeightGrad => g.n * g.ho * g.wo,
        }
    }
}

/// The output tile of a GEMM kernel: `m x n` outputs per workgroup, or per
/// invocation for the blocks kernels (`per_workgroup` of them in one
/// workgroup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub m: usize,
    pub n: usize,
    /// Tiles per workgroup: 1 where a workgroup computes a tile together,
    /// 64 for the blocks kernels (one block per invocation).
    pub per_workgroup: usize,
    /// The grid's row blocks are rounded up to a multiple of this:
    /// [`SHARED_LANES`] for `PointwiseShared` and `PointwiseSharedWide`,
    /// whose subgroups take that many consecutive row blocks of the same
    /// columns (the extra blocks load clamped rows and store nothing), 1
    /// for the other kernels.
    /// The reduction's split is chosen from the unrounded count, so
    /// `PointwiseShared` splits as `PointwiseLarge` does and the two agree
    /// bit for bit (`PointwiseSharedWide` counts `PointwiseLarge`'s
    /// blocks for its split, for the same reason).
    pub row_run: usize,
}

impl Tile {
    /// The row blocks of the grid over a GEMM of `m` rows.
    pub fn row_blocks(&self, m: usize) -> usize {
        m.div_ceil(self.m).next_multiple_of(self.row_run)
    }
}

/// A concrete kernel: one entry point of the conv shader modules, written
/// once against each op's GEMM view (except `Direct`, which each op writes
/// for itself). Its name is the entry point's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConvKernel {
    /// One invocation per output element, plain loops: the reference kernel.
    Direct,
    /// 128x32 workgroup tiles staged in workgroup memory, 8x8 register
    /// tiles per invocation (gemm_tiled.wgsl, 64 invocations).
    TiledNarrow,
    /// 128x64 tiles, 128 invocations (gemm_tiled.wgsl).
    Tiled,
    /// 128x128 tiles, 256 invocations (gemm_tiled.wgsl).
    TiledWide,
    /// One output row x 16 columns per invocation, 64x16 per workgroup, no
    /// workgroup memory (gemm_rows.wgsl).
    Rows,
    /// A 16x16 block per invocation over its own split of the reduction, no
    /// workgroup memory or barriers (gemm_blocks.wgsl).
    Blocks,
    /// The same with 32x16 blocks (gemm_blocks.wgsl).
    BlocksTall,
    /// The same with 16x32 blocks (gemm_blocks.wgsl): twice the columns
    /// per row loaded, for GEMMs whose row loads cost more than their
    /// column loads (the weight gradient's, gathered from the padded
    /// input).
    BlocksWide,
    /// 16x16 blocks of a pointwise problem (1x1 kernel, stride 1, no
    /// padding; linear layers) from vec4 loads, no tap table
    /// (gemm_pointwise.wgsl). Only where [`pointwise_fits`]; forced on
    /// another problem, `Blocks` runs instead.
    Pointwise,
    /// `Pointwise` with 32x32 blocks (gemm_pointwise_large.wgsl): half the
    /// loads per multiply-add, for GEMMs of at least 32 rows and 32
    /// columns on CPU adapters. Only where [`pointwise_fits`]; forced on
    /// another problem, `Blocks` runs instead.
    PointwiseLarge,
    /// `PointwiseLarge` with the B operand shared by a subgroup's
    /// [`SHARED_LANES`] lanes (gemm_pointwise_shared.wgsl): the lanes take
    /// 8 row blocks of the same columns, each loads an eighth of their B
    /// values and broadcasts it, and the sums are `PointwiseLarge`'s, bit
    /// for bit. Only on adapters that [`shares_lanes`] and where
    /// [`pointwise_shared_fits`]; forced elsewhere, `PointwiseLarge` runs
    /// where [`pointwise_fits`], `Blocks` where not.
    PointwiseShared,
    /// `PointwiseShared` with blocks of 16 rows x 64 columns (the same
    /// accumulators): each lane loads a quarter of its own A and an
    /// eighth of the shared 64 columns, 24 vec4 loads per four reduction
    /// steps instead of 36, the same sums bit for bit. Only on adapters
    /// that [`shares_lanes`] and where [`pointwise_shared_wide_fits`];
    /// forced elsewhere, `PointwiseShared`'s rule runs.
    PointwiseSharedWide,
    /// `Blocks` with B from vec4 loads along the reduction
    /// (gemm_blocks_k4.wgsl): forward and weight gradient, where
    /// [`blocks_k4_fits`]; forced elsewhere, `Blocks` runs.
    BlocksK4,
    /// A 4x4 block of outputs per invocation of a depthwise 3x3 layer, the
    /// taps written out (conv2d_depthwise.wgsl), for the weight gradient
    /// 9 sums per invocation over a split of the output rows. Only where
    /// [`depthwise_fits`]; forced elsewhere, `Direct` runs.
    Depthwise,
}

impl ConvKernel {
    /// `Pointwise`, `PointwiseLarge`, `PointwiseShared` or
    /// `PointwiseSharedWide`: the kernels of the pointwise view.
    pub const fn pointwise(self) -> bool {
        matches!(
            self,
            ConvKernel::Pointwise
                | ConvKernel::PointwiseLarge
                | ConvKernel::PointwiseShared
                | ConvKernel::PointwiseSharedWide
        )
    }

    pub const ALL: [ConvKernel; 14] = [
        ConvKernel::Direct,
        ConvKernel::TiledNarrow,
        ConvKernel::Tiled,
        ConvKernel::TiledWide,
        ConvKernel::Rows,
        ConvKernel::Blocks,
        ConvKernel::BlocksTall,
        ConvKernel::BlocksWide,
        ConvKernel::Pointwise,
        ConvKernel::PointwiseLarge,
        ConvKernel::PointwiseShared,
        ConvKernel::PointwiseSharedWide,
        ConvKernel::BlocksK4,
        ConvKernel::Depthwise,
    ];

    /// The entry point's name (for `Depthwise`, the module
    /// conv2d_depthwise.wgsl holds one entry per op).
    pub const fn name(self) -> &'static str {
        match self {
            ConvKernel::Direct => "direct",
            ConvKernel::TiledNarrow => "tiled_narrow",
            ConvKernel::Tiled => "tiled",
            ConvKernel::TiledWide => "tiled_wide",
            ConvKernel::Rows => "rows",
            ConvKernel::Blocks => "blocks",
            ConvKernel::BlocksTall => "blocks_tall",
            ConvKernel::BlocksWide => "blocks_wide",
            ConvKernel::Pointwise => "pointwise",
            ConvKernel::PointwiseLarge => "pointwise_large",
            ConvKernel::PointwiseShared => "pointwise_shared",
            ConvKernel::PointwiseSharedWide => "pointwise_shared_wide",
            ConvKernel::BlocksK4 => "blocks_k4",
            ConvKernel::Depthwise => "depthwise",
        }
    }

    /// The output tile of a GEMM kernel, or None for `Direct` and
    /// `Depthwise`, which are not GEMMs.
    pub const fn tile(self) -> Option<Tile> {
        let (m, n, per_workgroup) = match self {
            ConvKernel::Direct | ConvKernel::Depthwise => return None,
            ConvKernel::TiledNarrow => (128, 32, 1),
            ConvKernel::Tiled => (128, 64, 1),
            ConvKernel::TiledWide => (128, 128, 1),
            ConvKernel::Rows => (64, 16, 1),
            ConvKernel::Blocks => (16, 16, 64),
            ConvKernel::BlocksTall => (32, 16, 64),
            ConvKernel::BlocksWide => (16, 32, 64),
            ConvKernel::Pointwise | ConvKernel::BlocksK4 => (16, 16, 64),
            ConvKernel::PointwiseLarge | ConvKernel::PointwiseShared => (32, 32, 64),
            ConvKernel::PointwiseSharedWide => (16, 64, 64),
        };
        let row_run = match self {
            ConvKernel::PointwiseShared | ConvKernel::PointwiseSharedWide => SHARED_LANES as usize,
            _ => 1,
        };
        Some(Tile {
            m,
            n,
            per_workgroup,
            row_run,
        })
    }
}

/// How a convolution is computed with its kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// The op's GEMM in one pass (the weight gradient's reduction cut into
    /// `splits` ranges summed in order); with `Direct`, one invocation per
    /// output.
    OneStep,
    /// Input gradient only: one GEMM per stride phase (sh·sw of them), each
    /// over the taps that land on an output position from that phase
    /// (shaders/conv2d_input_grad.wgsl), so no lane divides or skips.
    StridePhases,
    /// Input gradient only: a GEMM over K/g into columns of R·S values per
    /// input element, then col2im (shaders/conv2d_input_grad_cols.wgsl):
    /// where C/g is narrow the one-step GEMM has too few columns to reuse
    /// an operand.
    TwoStepColumns,
    /// A 3x3 stride-1 convolution ([`winograd_fits`]): Winograd's
    /// F(2x2, 3x3), 16 multiplies per 2x2 output tile and channel pair
    /// instead of 36 — the weight and input transforms, a batched GEMM of
    /// the 16 products on the plan's kernel ([`winograd_gemm`]), the output
    /// transform (shaders/winograd.wgsl). The weight gradient runs the same
    /// tiles turned around (F(3x3, 2x2)): the input and dy transforms, the
    /// batched GEMM's weight gradient, the 3x3 transform of its sums.
    Winograd,
    /// Winograd's F(4x4, 3x3), forward and input gradient of the same
    /// convolutions with at most [`WINOGRAD4_MAX_CHANNELS`] input channels,
    /// and their weight gradient (F(3x3, 4x4), any channel count): 36
    /// multiplies per 4x4 output tile and channel pair (2.25 per output
    /// where F(2x2) takes 4), and a third fewer transformed values per
    /// output to write and read; the batched GEMM has 36 groups
    /// (shaders/winograd4.wgsl).
    Winograd4,
    /// The convolution as a 1x1 convolution of its columns ([`im2col_fits`],
    /// shaders/im2col.wgsl): forward and weight gradient copy x's values
    /// under every tap into `[N, C·R·S, Ho, Wo]` (im2col) and run the 1x1
    /// convolution's GEMM over them, whose operands are plain matrices the
    /// pointwise kernels load as vec4s; the input gradient runs the 1x1
    /// convolution's input gradient into the columns, then col2im. The
    /// GEMM's kernel is the plan's ([`im2col_gemm`]).
    Im2col,
}

impl Algorithm {
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::OneStep => "one_step",
            Algorithm::StridePhases => "stride_phases",
            Algorithm::TwoStepColumns => "two_step_columns",
            Algorithm::Winograd => "winograd_2x2",
            Algorithm::Winograd4 => "winograd_4x4",
            Algorithm::Im2col => "im2col",
        }
    }

    /// The side of a Winograd algorithm's output tile (2 or 4).
    pub const fn winograd_tile(self) -> Option<usize> {
        match self {
            Algorithm::Winograd => Some(2),
            Algorithm::Winograd4 => Some(4),
            _ => None,
        }
    }
}

/// Which plan runs a convolution. The default is `Auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Policy {
    /// The fixed rule of [`plan`] (so results are reproducible across
    /// runs and processes): per adapter kind, by the GEMM's shape.
    #[default]
    Auto,
    /// At the first use of each problem, time every plan of [`candidates`]
    /// on scratch buffers and keep the fastest, in memory and, with
    /// `WGCONV_TUNE_CACHE=path`, in a JSON file keyed by adapter, driver and
    /// problem (so later processes make the same choice and get the same
    /// bits).
    Tuned,
    /// Winograd's F(2x2, 3x3) wherever it fits ([`winograd_fits`]), its
    /// batched GEMM on Auto's kernel; Auto's plan elsewhere. For tests and
    /// benchmarks, as `Force` is.
    Winograd,
    /// Winograd's F(4x4, 3x3) wherever it fits (forward and input gradient
    /// of up to [`WINOGRAD4_MAX_CHANNELS`] input channels, every weight
    /// gradient that F(2x2, 3x3) takes); Auto's plan elsewhere. For tests
    /// and benchmarks.
    Winograd4,
    /// The [`Algorithm::Im2col`] plan wherever it fits ([`im2col_fits`]),
    /// Auto's plan elsewhere. For tests and benchmarks.
    Im2col,
    /// This kernel for every convolution (the algorithm still follows the
    /// problem; see [`plan`]): for tests and benchmarks, so every kernel is
    /// held to the same CPU reference.
    Force(ConvKernel),
}

impl Policy {
    /// Every kernel forced, in [`ConvKernel::ALL`] order.
    pub const FORCED: [Policy; 14] = [
        Policy::Force(ConvKernel::Direct),
        Policy::Force(ConvKernel::TiledNarrow),
        Policy::Force(ConvKernel::Tiled),
        Policy::Force(ConvKernel::TiledWide),
        Policy::Force(ConvKernel::Rows),
        Policy::Force(ConvKernel::Blocks),
        Policy::Force(ConvKernel::BlocksTall),
        Policy::Force(ConvKernel::BlocksWide),
        Policy::Force(ConvKernel::Pointwise),
        Policy::Force(ConvKernel::PointwiseLarge),
        Policy::Force(ConvKernel::PointwiseShared),
        Policy::Force(ConvKernel::PointwiseSharedWide),
        Policy::Force(ConvKernel::BlocksK4),
        Policy::Force(ConvKernel::Depthwise),
    ];

    /// The two choosers, the two Winograd tiles, im2col, and every forced
    /// kernel.
    pub const ALL: [Policy; 19] = [
        Policy::Auto,
        Policy::Tuned,
        Policy::Winograd,
        Policy::Winograd4,
        Policy::Im2col,
        Policy::FORCED[0],
        Policy::FORCED[1],
        Policy::FORCED[2],
        Policy::FORCED[3],
        Policy::FORCED[4],
        Policy::FORCED[5],
        Policy::FORCED[6],
        Policy::FORCED[7],
        Policy::FORCED[8],
        Policy::FORCED[9],
        Policy::FORCED[10],
        Policy::FORCED[11],
        Policy::FORCED[12],
        Policy::FORCED[13],
    ];

    /// `auto`, `tuned`, or the forced kernel's name.
    pub const fn name(self) -> &'static str {
        match self {
            Policy::Auto => "auto",
            Policy::Tuned => "tuned",
            Policy::Winograd => "winograd",
            Policy::Winograd4 => "winograd4",
            Policy::Im2col => "im2col",
            Policy::Force(k) => k.name(),
        }
    }

    /// The policy named `auto`, `tuned`, `winograd`, `winograd4`, `im2col` or a kernel name (case-insensitive;
    /// `wide` is accepted for `tiled_wide`).
    pub fn parse(s: &str) -> Option<Policy> {
        let s = s.to_ascii_lowercase();
        let s = if s == "wide" { "tiled_wide" } else { &s };
        Policy::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Every name [`Policy::parse`] takes, for help and error messages.
    pub fn names() -> String {
        Policy::ALL.map(Policy::name).join(", ")
    }
}

/// What the plan needs to know about the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdapterFacts {
    /// Invocations run on a CPU (lavapipe, llvmpipe, WARP).
    pub cpu: bool,
    /// `max_storage_buffer_binding_size`: a tap table must fit one binding.
    pub max_storage_buffer_binding_size: u64,
    /// Lanes per subgroup where the device shares loads across them
    /// ([`shares_lanes`]: [`SHARED_LANES`]), 0 where it does not.
    pub subgroup_lanes: u32,
}

/// The lanes of a subgroup that [`ConvKernel::PointwiseShared`] shares its
/// B operand across.
pub const SHARED_LANES: u32 = 8;

/// Whether a device shares GEMM loads across the lanes of a subgroup
/// (wgconv then enables subgroups on it and plans
/// [`ConvKernel::PointwiseShared`]): on Vulkan CPU adapters with
/// subgroups of exactly [`SHARED_LANES`] lanes, the SIMD vector of
/// lavapipe's 256-bit build. There a load is a per-lane gather that costs
/// some 40–60 multiply-adds and a `subgroupBroadcast` a register move, so
/// a GEMM loop whose lanes share B's loads runs 1.2–1.3x faster
/// (`examples/gemm_ceiling.rs`, docs/performance.md). On GPUs the tiled
/// kernels share operands through workgroup memory instead; other
/// subgroup sizes were never measured; and the other back ends compile
/// the WGSL with their own front ends (a browser's wants `enable
/// subgroups;`, which naga refuses).
pub fn shares_lanes(vulkan_cpu: bool, has_subgroups: bool, min_size: u32, max_size: u32) -> bool {
    vulkan_cpu && has_subgroups && min_size == SHARED_LANES && max_size == SHARED_LANES
}

/// The plan of one convolution: what [`plan`] decides and the ops record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvPlan {
    pub op: ConvOp,
    /// The kernel of the GEMM that runs (for `TwoStepColumns`, the first
    /// step's; col2im follows).
    pub kernel: ConvKernel,
    pub algorithm: Algorithm,
    /// Ranges the weight gradient's reduction is cut into (partial sums
    /// added in order by `reduce_splits`); 1 for the other ops. For a batch
    /// split past one binding, each piece is planned alike.
    pub splits: usize,
}

impl fmt::Display for ConvPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kernel.name(), self.algorithm.name())?;
        if self.splits > 1 {
            write!(f, " x{} splits", self.splits)?;
        }
        Ok(())
    }
}

/// The plan of `problem` under `policy` on an adapter with `facts`.
/// `Tuned` gives Auto's plan here: measuring is ops/tune.rs's job, and
/// this is its fallback.
///
/// The rule, in order:
/// 0. `Winograd` runs Winograd's F(2x2, 3x3) where [`winograd_fits`], and
///    is Auto elsewhere. Auto, on every adapter, runs it where it fits and
///    the forward convolution whose tiles it runs (for an input gradient,
///    the one of dy) has at least [`WINOGRAD_MIN_CHANNELS`] input and
///    output channels: then the batched GEMM is wide and deep enough that
///    its 2.25x fewer multiply-adds outweigh the transforms' passes over
///    memory (S2 and S3 of the small suite 1.2–1.9x faster on lavapipe
///    forward and input gradient, about 2x weight gradient; S1, one input
///    channel, 4–9x slower: docs/performance.md). Of those, weight
///    gradients and the forward and input gradients of at most
///    [`WINOGRAD4_MAX_CHANNELS`] input channels whose 4x4 tiles need fewer
///    products than the 2x2 ones (36 per 4x4 tile against 16 per 2x2
///    tile, both cut at the plane's edges) run F(4x4, 3x3) instead (S2
///    and S3 1.1–1.7x faster than F(2x2) on lavapipe forward and input
///    gradient, 1.14x and 1.4x weight gradient); `Winograd4` forces it
///    where it fits. Not yet measured on a GPU.
/// 1. A GEMM kernel loads a tap table; where it would not fit one binding,
///    the problem runs `Direct`.
/// 2. `Force(kernel)` runs that kernel.
/// 3. Auto, on every adapter: a problem that [`depthwise_fits`] (a
///    depthwise 3x3 layer: MobileNets) with fewer than [`NARROW_COLUMNS`]
///    output channels per group runs `Depthwise`: its GEMM is too narrow
///    for any GEMM kernel, and `direct` runs it 3-7x slower on lavapipe.
///    With more (a first layer of one input channel, K/g = K), on GPUs
///    the GEMM kernels reuse each input value across the columns and
///    take the three ops; on CPU adapters the forward runs `Depthwise`
///    whatever K/g: each invocation loads its input rows once and loops
///    over the group's K/g channels, with the taps as loads all lanes
///    share and vec4 stores (S1 forward 2-5x faster than on `blocks` on
///    lavapipe), and so does the input gradient (since its pipeline is
///    built for the layer's stride: S1 1.3–2x faster than
///    `two_step_columns`) and the weight gradient where
///    [`depthwise_fanout`] (four channels per invocation over 4x4 blocks:
///    S1 1.5x faster than on `blocks`). On a GPU those loops would cut the
///    invocations by K/g, so there wide groups stay on the GEMM kernels.
/// 4. Auto on CPU adapters: the blocks kernels wherever the GEMM has at
///    least [`NARROW_COLUMNS`] columns, or is an input gradient whose
///    columns GEMM (two steps) has a reduction K/g that wide; 32x16 blocks
///    for input gradients of at least 128 rows and a 64-deep reduction,
///    16x32 blocks for weight gradients of at least [`WIDE_BLOCK_COLUMNS`]
///    columns and [`WIDE_BLOCK_ROWS`] rows (each row value is a gather
///    from the padded input with its bounds tests, each column value a
///    plain load of dy, so the wide block halves the dear loads per
///    multiply-add), 16x16 blocks for the rest (forward GEMMs ran 10–25 % faster on
///    16x16 blocks in the small suite than on 32x16, input gradients
///    0–8 % faster on 32x16: `docs/performance.md`). There a load is a
///    per-lane gather and workgroup memory is no cheaper than a cached
///    global load, so the fewest loads per multiply-add wins.
///    Pointwise problems that [`pointwise_fits`] (1x1 kernels at stride 1,
///    linear layers, Winograd's batched GEMMs) of at least that many
///    columns run `Pointwise` instead: the same 16x16 blocks from vec4
///    loads (S5 of the small suite about 1.5x faster than on `Blocks`,
///    docs/performance.md); from [`LARGE_BLOCK_ROWS`] rows and
///    [`LARGE_BLOCK_COLUMNS`] columns `PointwiseLarge`, 32x32 blocks with
///    half the loads per multiply-add (S5 1.4–2x faster than `Pointwise`),
///    or on devices that [`shares_lanes`], where [`pointwise_shared_fits`],
///    `PointwiseShared`: the same blocks with B's loads shared by a
///    subgroup's 8 lanes (S4's im2col forward and S5's forward and input
///    gradient 1.2–1.4x faster on lavapipe, Winograd's S3 1.05–1.2x);
///    forward GEMMs whose weight rows fit [`blocks_k4_fits`] run
///    `BlocksK4` (S3 and S4 forward 6–10 % faster; weight gradients
///    gained nothing consistent and stay on `Blocks`).
///    Everything else runs `Direct`.
/// 5. Auto on GPUs: `Direct` for tiny (< 32 rows), narrow or shallow
///    (reduction < 8) GEMMs; `Rows` for < 24 columns or a reduction < 32;
///    `TiledWide` from 128 columns; `TiledNarrow` up to 32; `Tiled`
///    otherwise. (Chosen on lavapipe before the blocks kernels existed,
///    and not yet measured on a GPU: `Tuned` measures instead.)
///
/// The algorithm then follows the problem: the input gradient runs as
/// stride phases under a GEMM kernel, or in two steps where C/g <
/// [`NARROW_COLUMNS`]; the weight gradient's split follows [`split_k`].
pub fn plan(problem: &ConvProblem, facts: &AdapterFacts, policy: Policy) -> ConvPlan {
    let winograd = match policy {
        Policy::Winograd => winograd_plan(problem, facts, Algorithm::Winograd),
        Policy::Winograd4 => winograd_plan(problem, facts, Algorithm::Winograd4)
            .or_else(|| auto_winograd(problem, facts)),
        Policy::Auto | Policy::Tuned => auto_winograd(problem, facts),
        Policy::Im2col => None,
        Policy::Force(_) => None,
    };
    if let Some(p) = winograd {
        return p;
    }
    let im2col = match policy {
        Policy::Im2col => im2col_plan(problem, facts),
        Policy::Auto | Policy::Tuned if facts.cpu && im2col_pays(problem) => {
            im2col_plan(problem, facts)
        }
        _ => None,
    };
    if let Some(p) = im2col {
        return p;
    }
    let table_fits = problem.tap_entries() as u64 * 16 <= facts.max_storage_buffer_binding_size;
    let kernel = match policy {
        // Neither runs a GEMM, so neither needs a tap table.
        Policy::Force(ConvKernel::Depthwise) => ConvKernel::Depthwise,
        Policy::Auto | Policy::Tuned | Policy::Winograd | Policy::Winograd4 | Policy::Im2col
            if auto_depthwise(problem, facts) =>
        {
            ConvKernel::Depthwise
        }
        _ if !table_fits => ConvKernel::Direct,
        // Their entry points exist only on devices that share lanes.
        Policy::Force(ConvKernel::PointwiseShared | ConvKernel::PointwiseSharedWide)
            if facts.subgroup_lanes != SHARED_LANES =>
        {
            ConvKernel::PointwiseLarge
        }
        Policy::Force(kernel) => kernel,
        Policy::Auto | Policy::Tuned | Policy::Winograd | Policy::Winograd4 | Policy::Im2col
            if facts.cpu =>
        {
            auto_cpu(problem, facts)
        }
        Policy::Auto | Policy::Tuned | Policy::Winograd | Policy::Winograd4 | Policy::Im2col => {
            auto_gpu(problem.gemm())
        }
    };
    with_kernel(problem, facts, kernel)
}

/// The plans `Tuned` measures for `problem`: every GEMM kernel, `Direct`
/// where it can compete (narrow or small GEMMs; on large ones it is an
/// order of magnitude slower and would only cost tuning time), and
/// Winograd where it fits.
pub fn candidates(problem: &ConvProblem, facts: &AdapterFacts) -> Vec<ConvPlan> {
    let d = problem.gemm();
    let direct_competes = d.n < NARROW_COLUMNS || d.m < 32 || d.m * d.n <= 4096;
    let mut out: Vec<ConvPlan> = Vec::new();
    for kernel in ConvKernel::ALL {
        if kernel == ConvKernel::Direct && !direct_competes {
            continue;
        }
        let p = plan(problem, facts, Policy::Force(kernel));
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out.extend(winograd_plan(problem, facts, Algorithm::Winograd));
    out.extend(winograd_plan(problem, facts, Algorithm::Winograd4));
    out.extend(im2col_plan(problem, facts));
    out
}

/// The 1x1 convolution an [`Algorithm::Im2col`] plan of `problem` runs:
/// input `[N, C·R·S, Ho, Wo]` (the columns), weight `[K, C·R·S, 1, 1]`
/// (the weight's own memory), the same op (for an input gradient its
/// output is the columns' gradient, which col2im turns into dx).
pub fn im2col_gemm(problem: &ConvProblem) -> Result<ConvProblem, Error> {
    let g = &problem.geometry;
    let crs = g.c * g.r * g.s;
    ConvProblem::new(
        problem.op,
        &[g.n, crs, g.ho, g.wo],
        &[g.k, crs, 1, 1],
        &Conv2dParams::default(),
    )
}

/// Most bytes of columns Auto lets [`Algorithm::Im2col`] allocate (they
/// are 2.25x x at stride 2 for a 3x3 kernel, 9x at stride 1).
pub const IM2COL_MAX_BYTES: usize = 256 << 20;
/// Fewest bytes of columns for which Auto runs [`Algorithm::Im2col`]: on
/// smaller layers its extra pass costs more than the GEMM saves (the
/// digits model's 16 → 32 layer, 0.3 MB of columns, made the step about
/// 10 % slower; S4, 19 MB, runs 1.2–1.6x faster: docs/performance.md).
pub const IM2COL_MIN_BYTES: usize = 4 << 20;

/// Whether `problem` can run [`Algorithm::Im2col`]: one group, a kernel
/// of more than one tap, columns that fit one binding, output rows within
/// the loop budget, and a 1x1 GEMM the pointwise kernels take
/// ([`pointwise_fits`]: C·R·S, K and Ho·Wo multiples of 4).
pub fn im2col_fits(problem: &ConvProblem, facts: &AdapterFacts) -> bool {
    im2col_plan(problem, facts).is_some()
}

/// Auto's rule for [`Algorithm::Im2col`] on CPU adapters, where it fits:
/// the three ops of strided convolutions (the stride-2 3x3 layers between
/// a ResNet's stages), whose columns are at most 2.25x x at stride 2 and
/// which Winograd does not take, with [`IM2COL_MIN_BYTES`] to
/// [`IM2COL_MAX_BYTES`] of columns. There the 1x1 GEMM's vec4 loads beat
/// the implicit GEMM's per-lane tap gathers by more than the columns cost
/// (the input gradient's col2im included, since its pipeline is built for
/// the layer's taps: docs/performance.md).
fn im2col_pays(problem: &ConvProblem) -> bool {
    let g = &problem.geometry;
    let cols = g.n * g.c * g.r * g.s * g.ho * g.wo;
    g.params.stride.iter().any(|&s| s > 1)
        && (IM2COL_MIN_BYTES..=IM2COL_MAX_BYTES).contains(&(cols * 4))
}

/// The [`Algorithm::Im2col`] plan of `problem` where it fits, its GEMM
/// on Auto's kernel for the 1x1 convolution with that kernel's split.
fn im2col_plan(problem: &ConvProblem, facts: &AdapterFacts) -> Option<ConvPlan> {
    let g = &problem.geometry;
    let cols = g.n * g.c * g.r * g.s * g.ho * g.wo;
    if g.params.groups != 1 || g.r * g.s == 1 {
        return None;
    }
    if cols as u64 * 4 > facts.max_storage_buffer_binding_size || cols > u32::MAX as usize {
        return None;
    }
    // im2col walks an output row per invocation.
    if g.wo > MAX_LOOP_TRIPS {
        return None;
    }
    let gemm = im2col_gemm(problem).ok()?;
    if !pointwise_fits(&gemm) {
        return None;
    }
    let p = plan(&gemm, facts, Policy::Auto);
    Some(ConvPlan {
        op: problem.op,
        kernel: p.kernel,
        algorithm: Algorithm::Im2col,
        splits: p.splits,
    })
}

/// The forward convolution whose tiles a Winograd plan of `problem` runs:
/// the problem's own (forward and weight gradient), or for an input
/// gradient (stride 1, 3x3) the forward convolution of dy (`[N, K, Ho,
/// Wo]`) with the kernel turned by 180° and its channel axes swapped
/// (`[C, K, 3, 3]`) at padding 2 − p, whose output is dx.
pub fn winograd_forward(problem: &ConvProblem) -> Result<Conv2dGeometry, Error> {
    let g = &problem.geometry;
    let p = &g.params;
    let unfit = |message: &str| Error::InvalidParam {
        op: problem.op.kernel_name(),
        param: "algorithm",
        message: format!("Winograd {message}"),
    };
    match problem.op {
        ConvOp::Forward | ConvOp::WeightGrad => Ok(*g),
        ConvOp::InputGrad if p.padding.iter().all(|&q| q <= 2) => {
            let turned = Conv2dParams {
                padding: [2 - p.padding[0], 2 - p.padding[1]],
                ..*p
            };
            Conv2dGeometry::new(
                problem.op.kernel_name(),
                &[g.n, g.k, g.ho, g.wo],
                &[g.c, g.k, g.r, g.s],
                &turned,
            )
        }
        ConvOp::InputGrad => Err(unfit("takes input gradients of padding up to 2")),
    }
}

/// The `tile`x`tile` output tiles of the forward convolution `fwd`:
/// N·⌈Ho/tile⌉·⌈Wo/tile⌉.
pub fn winograd_tiles(fwd: &Conv2dGeometry, tile: usize) -> usize {
    fwd.n * fwd.ho.div_ceil(tile) * fwd.wo.div_ceil(tile)
}

/// How F(4x4)'s transforms walk the tiles of a forward convolution and
/// move memory (winograd4.wgsl's entry points), of [`winograd_runs`].
/// On lavapipe a per-lane scalar store or load costs nearly what a vec4
/// one does (`examples/load_cost.rs`), so each field makes fewer, wider
/// ones; the bits are the same whichever runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WinogradRuns {
    /// Four consecutive tiles per invocation (the `_x4` entries), each
    /// product's four values one vec4 of V, Y or M: where the tile count
    /// is a multiple of 4 (measured in docs/performance.md).
    pub fours: bool,
    /// Each run of four lies in one tile row (a multiple of 4 tiles per
    /// row) and x's rows have an even width: the input transform reads
    /// the run's 6×18 patch once, in aligned pairs
    /// (`input_transform_x4_pairs`: 60 vec2 loads instead of 144 scalar).
    pub input_pairs: bool,
    /// The output's rows have an even width: the output transform stores
    /// and the weight gradient's dy transform loads each tile row as two
    /// aligned pairs (`output_transform_x4_pairs`, `dy_transform_x4_pairs`).
    pub output_pairs: bool,
    /// The weight transform takes four kernels of consecutive input
    /// channels per invocation, U's 36 products of each stored as vec4s
    /// (`weight_transform_x4`, `weight_transform_turned_x4`): where C is a
    /// multiple of 4.
    pub weight_quads: bool,
}

/// How F(4x4)'s transforms run on the tiles of `fwd` (all off for F(2x2)).
pub fn winograd_runs(fwd: &Conv2dGeometry, tile: usize) -> WinogradRuns {
    let fours = tile == 4 && winograd_tiles(fwd, tile).is_multiple_of(4);
    WinogradRuns {
        fours,
        input_pairs: fours && fwd.wo.div_ceil(tile).is_multiple_of(4) && fwd.w.is_multiple_of(2),
        output_pairs: fours && fwd.wo.is_multiple_of(2),
        weight_quads: tile == 4 && fwd.c.is_multiple_of(4),
    }
}

/// Whether the forward convolution planned as `forward` keeps its
/// transformed input `V` for the weight gradient planned as `weight_grad`
/// (of the same geometry), which then skips its own input transform:
/// where both run the same Winograd algorithm (the same tiles, the same
/// transform, the same bits) on a CPU adapter. There the transform is a
/// pass over memory at per-lane load and store costs, and V lives in host
/// memory; on a GPU the pass is cheap beside the 2.25–3× of x that V holds
/// through the backward pass (and unmeasured), so GPUs recompute it.
pub fn shares_input_transform(
    forward: &ConvPlan,
    weight_grad: &ConvPlan,
    facts: &AdapterFacts,
) -> bool {
    facts.cpu
        && forward.op == ConvOp::Forward
        && weight_grad.op == ConvOp::WeightGrad
        && forward.algorithm == weight_grad.algorithm
        && forward.algorithm.winograd_tile().is_some()
}

/// The products per tile and channel pair of Winograd's F(tile x tile,
/// 3x3): (tile + 2)², the groups of its batched GEMM.
pub const fn winograd_products(tile: usize) -> usize {
    (tile + 2) * (tile + 2)
}

/// The batched GEMM of a Winograd plan of `op` with `tile`x`tile` output
/// tiles over the forward convolution `fwd` ([`winograd_forward`]), as
/// the problem the GEMM kernels run: a 1x1 convolution of P =
/// [`winograd_products`] groups (one per product ξ) over the transformed
/// input `V [1, P·C, 1, T]` (T tiles) and weight `U [P·K, C, 1, 1]`,
/// giving `M [1, P·K, 1, T]`; for a weight gradient, that convolution's
/// weight gradient from `V` and the transformed output gradient
/// `Y [1, P·K, 1, T]`, giving `M [P·K, C, 1, 1]`.
pub fn winograd_gemm(op: ConvOp, fwd: &Conv2dGeometry, tile: usize) -> Result<ConvProblem, Error> {
    let tiles = winograd_tiles(fwd, tile);
    let products = winograd_products(tile);
    let p = Conv2dParams {
        groups: products as u32,
        ..Conv2dParams::default()
    };
    let op = match op {
        ConvOp::WeightGrad => ConvOp::WeightGrad,
        ConvOp::Forward | ConvOp::InputGrad => ConvOp::Forward,
    };
    ConvProblem::new(
        op,
        &[1, products * fwd.c, 1, tiles],
        &[products * fwd.k, fwd.c, 1, 1],
        &p,
    )
}

/// Input and output channels from which Auto runs Winograd (rule 0 of
/// [`plan`]).
pub const WINOGRAD_MIN_CHANNELS: usize = 32;

/// The most input channels (of the forward convolution whose tiles it
/// runs) that F(4x4, 3x3) takes: its f32 rounding grows with the sum over
/// channels and stays within 1e-5 × max(1, max|ref|) with a margin of
/// about 2x up to here (tests/gpu_vs_cpu.rs measures it on every adapter;
/// docs/performance.md).
pub const WINOGRAD4_MAX_CHANNELS: usize = 256;

/// Auto's Winograd plan (rule 0 of [`plan`]), if any: F(4x4, 3x3) where
/// it fits and needs fewer products than F(2x2, 3x3) (small planes cut
/// 4x4 tiles at their edges), F(2x2, 3x3) elsewhere.
fn auto_winograd(problem: &ConvProblem, facts: &AdapterFacts) -> Option<ConvPlan> {
    let g = &problem.geometry;
    let (c, k) = match problem.op {
        ConvOp::Forward | ConvOp::WeightGrad => (g.c, g.k),
        ConvOp::InputGrad => (g.k, g.c),
    };
    if c < WINOGRAD_MIN_CHANNELS || k < WINOGRAD_MIN_CHANNELS {
        return None;
    }
    let products = |tile| {
        let fwd = winograd_forward(problem).ok()?;
        Some(winograd_tiles(&fwd, tile) * winograd_products(tile))
    };
    if products(4)? < products(2)? {
        if let Some(p) = winograd_plan(problem, facts, Algorithm::Winograd4) {
            return Some(p);
        }
    }
    winograd_plan(problem, facts, Algorithm::Winograd)
}

/// Whether `problem` can run Winograd F(2x2, 3x3): any op of a 3x3
/// convolution at stride 1, dilation 1, one group (an input gradient of
/// padding up to 2), whose tensors and transformed operands (16 values
/// per tile and channel) each fit one binding (and, for a weight
/// gradient, whose reduction over tiles fits the split-K budget).
/// F(4x4, 3x3) takes the forward and input gradients of those, up to
/// [`WINOGRAD4_MAX_CHANNELS`] input channels, and every weight gradient
/// (its sum runs over tiles, not channels).
pub fn winograd_fits(problem: &ConvProblem, facts: &AdapterFacts) -> bool {
    winograd_plan(problem, facts, Algorithm::Winograd).is_some()
}

/// The Winograd plan of `problem` with `algorithm` (`Winograd` or
/// `Winograd4`) where it fits: its batched GEMM on Auto's kernel with
/// that kernel's split.
fn winograd_plan(
    problem: &ConvProblem,
    facts: &AdapterFacts,
    algorithm: Algorithm,
) -> Option<ConvPlan> {
    let tile = algorithm.winograd_tile()?;
    let g = &problem.geometry;
    let p = &g.params;
    let shape = (g.r, g.s) == (3, 3) && p.stride == [1, 1] && p.dilation == [1, 1];
    if !shape || p.groups != 1 {
        return None;
    }
    let fwd = winograd_forward(problem).ok()?;
    if tile == 4 && problem.op != ConvOp::WeightGrad && fwd.c > WINOGRAD4_MAX_CHANNELS {
        return None;
    }
    let tiles = winograd_tiles(&fwd, tile);
    let products = winograd_products(tile);
    // The weight gradient's batched GEMM reduces over the T tiles of one
    // image: its tap table (16 bytes per term) must fit one binding, and
    // its split the loop budget.
    let reduction_fits = tiles as u64 * 16 <= facts.max_storage_buffer_binding_size
        && tiles
            <= MAX_SPLIT_LEN
                * most_splits(
                    products * fwd.k * fwd.c,
                    facts.max_storage_buffer_binding_size,
                );
    if problem.op == ConvOp::WeightGrad && !reduction_fits {
        return None;
    }
    let len = |s: [usize; 4]| s.iter().product::<usize>();
    let largest = [
        products * fwd.c * tiles,
        products * fwd.k * tiles,
        products * fwd.k * fwd.c,
        len(fwd.x_shape()),
        len(fwd.y_shape()),
    ]
    .into_iter()
    .max()?;
    if largest as u64 * 4 > facts.max_storage_buffer_binding_size || largest > u32::MAX as usize {
        return None;
    }
    let gemm = plan(
        &winograd_gemm(problem.op, &fwd, tile).ok()?,
        facts,
        Policy::Auto,
    );
    Some(ConvPlan {
        op: problem.op,
        kernel: gemm.kernel,
        algorithm,
        splits: gemm.splits,
    })
}

/// Rows from which Auto runs a pointwise GEMM on 32x32 blocks
/// (`PointwiseLarge`) on CPU adapters, with [`LARGE_BLOCK_COLUMNS`].
pub const LARGE_BLOCK_ROWS: usize = 32;
/// Columns from which Auto runs `PointwiseLarge`, with [`LARGE_BLOCK_ROWS`].
pub const LARGE_BLOCK_COLUMNS: usize = 32;

/// Columns from which Auto runs a weight gradient's GEMM on 16x32 blocks
/// (`BlocksWide`) on CPU adapters, with [`WIDE_BLOCK_ROWS`].
pub const WIDE_BLOCK_COLUMNS: usize = 32;
/// Rows (C/g·R·S) from which Auto runs `BlocksWide`: four 16-row blocks.
/// A GEMM of fewer rows (a first layer's 1·3·3) has few blocks already,
/// and halving its column blocks leaves cores idle (docs/performance.md).
pub const WIDE_BLOCK_ROWS: usize = 64;

fn blocks_for(op: ConvOp, d: GemmDims) -> ConvKernel {
    if op == ConvOp::InputGrad && d.m >= 128 && d.k >= 64 {
        ConvKernel::BlocksTall
    } else if op == ConvOp::WeightGrad && d.n >= WIDE_BLOCK_COLUMNS && d.m >= WIDE_BLOCK_ROWS {
        ConvKernel::BlocksWide
    } else {
        ConvKernel::Blocks
    }
}

fn auto_cpu(problem: &ConvProblem, facts: &AdapterFacts) -> ConvKernel {
    let d = problem.gemm();
    let g = &problem.geometry;
    if pointwise_fits(problem) && d.m >= LARGE_BLOCK_ROWS && d.n >= LARGE_BLOCK_COLUMNS {
        if facts.subgroup_lanes == SHARED_LANES && pointwise_shared_wide_fits(problem) {
            return ConvKernel::PointwiseSharedWide;
        }
        if facts.subgroup_lanes == SHARED_LANES && pointwise_shared_fits(problem) {
            return ConvKernel::PointwiseShared;
        }
        return ConvKernel::PointwiseLarge;
    }
    if pointwise_fits(problem) && d.n >= NARROW_COLUMNS {
        return ConvKernel::Pointwise;
    }
    if problem.op == ConvOp::InputGrad && d.n < NARROW_COLUMNS {
        // Two steps; the first is the columns GEMM, whose reduction is K/g.
        if g.k_per_group() >= NARROW_COLUMNS {
            return blocks_for(problem.op, problem.columns_gemm());
        }
        return ConvKernel::Direct;
    }
    if d.n >= NARROW_COLUMNS && problem.op == ConvOp::Forward && blocks_k4_fits(problem) {
        ConvKernel::BlocksK4
    } else if d.n >= NARROW_COLUMNS {
        blocks_for(problem.op, d)
    } else {
        ConvKernel::Direct
    }
}

fn auto_gpu(d: GemmDims) -> ConvKernel {
    if d.m < 32 || d.n < NARROW_COLUMNS || d.k < 8 {
        ConvKernel::Direct
    } else if d.n < 24 || d.k < 32 {
        ConvKernel::Rows
    } else if d.n >= 128 {
        ConvKernel::TiledWide
    } else if d.n <= 32 {
        ConvKernel::TiledNarrow
    } else {
        ConvKernel::Tiled
    }
}

/// The plan that runs `problem` with `kernel`: the algorithm and split
/// follow from the problem.
fn with_kernel(problem: &ConvProblem, facts: &AdapterFacts, kernel: ConvKernel) -> ConvPlan {
    let g = &problem.geometry;
    let kernel = pointwise_or_blocks(problem, kernel);
    let algorithm = match problem.op {
        ConvOp::InputGrad if kernel.tile().is_none() => Algorithm::OneStep,
        // A 1x1 kernel at stride 1 has one stride phase, over every input.
        ConvOp::InputGrad if kernel.pointwise() => Algorithm::StridePhases,
        ConvOp::InputGrad if g.c_per_group() < NARROW_COLUMNS => Algorithm::TwoStepColumns,
        ConvOp::InputGrad => Algorithm::StridePhases,
        ConvOp::Forward | ConvOp::WeightGrad => Algorithm::OneStep,
    };
    let splits = reduction_split(problem, kernel, facts.max_storage_buffer_binding_size).0;
    ConvPlan {
        op: problem.op,
        kernel,
        algorithm,
        splits,
    }
}

/// Whether `problem` can run [`ConvKernel::Pointwise`]
/// (gemm_pointwise.wgsl): a 1x1 kernel at stride 1 without padding, so
/// that its GEMM's operands are plain matrices, where every run of 4
/// values the kernel loads as one vec4 is aligned and inside one image:
/// planes of H·W = 1 (a linear layer) or a multiple of 4 values, C/g and
/// K/g multiples of 4, and a reduction that is one too (the weight
/// gradient's N·H·W).
pub fn pointwise_fits(problem: &ConvProblem) -> bool {
    let g = &problem.geometry;
    let p = &g.params;
    let hw = g.h * g.w;
    let pointwise = g.r == 1 && g.s == 1 && p.stride == [1, 1] && p.padding == [0, 0];
    pointwise
        && (hw == 1 || hw.is_multiple_of(4))
        && g.c_per_group().is_multiple_of(4)
        && g.k_per_group().is_multiple_of(4)
        && problem.gemm().k.is_multiple_of(4)
}

/// Whether `problem` can run [`ConvKernel::PointwiseShared`] (on a device
/// that [`shares_lanes`]): it [`pointwise_fits`], and its GEMM's 32-row
/// blocks come in whole eights, or [`shared_rounding_pays`] for them. The
/// grid rounds them up to whole eights ([`Tile::row_run`]), so the 8
/// lanes of a subgroup, which take consecutive row blocks, hold the same
/// columns, split and group, and a subgroup is inside the grid or past its
/// end as a whole; the rounding idles at most 7 blocks of every column of
/// blocks.
pub fn pointwise_shared_fits(problem: &ConvProblem) -> bool {
    shared_rows_fit(problem, ConvKernel::PointwiseShared)
}

/// Whether `problem` can run [`ConvKernel::PointwiseSharedWide`] (on a
/// device that [`shares_lanes`]): as [`pointwise_shared_fits`] with its
/// 16-row blocks, and its GEMM's columns come in whole 64s (no block
/// loads and multiplies columns that are not there).
pub fn pointwise_shared_wide_fits(problem: &ConvProblem) -> bool {
    problem.gemm().n.is_multiple_of(64) && shared_rows_fit(problem, ConvKernel::PointwiseSharedWide)
}

/// `problem` fits the pointwise view and the rounding of `kernel`'s row
/// blocks to whole eights [`shared_rounding_pays`].
fn shared_rows_fit(problem: &ConvProblem, kernel: ConvKernel) -> bool {
    let Some(tile) = kernel.tile() else {
        return false;
    };
    pointwise_fits(problem) && shared_rounding_pays(problem.gemm().m.div_ceil(tile.m))
}

/// Whether a shared kernel takes a GEMM of `row_blocks` row blocks: the
/// grid, rounded up to whole eights of them, idles at most one block in
/// [`SHARED_MAX_IDLE`] (none where they come in whole eights), less than
/// the 1.2–1.4x that sharing gains (docs/performance.md). From 64 blocks
/// every count passes; below, e.g. 36 blocks (an im2col weight gradient
/// of 576 rows) idle 4 of 40 and pass, 33 idle 7 of 40 and do not.
pub fn shared_rounding_pays(row_blocks: usize) -> bool {
    let lanes = SHARED_LANES as usize;
    let rounded = row_blocks.next_multiple_of(lanes);
    row_blocks > 0 && (rounded - row_blocks) * SHARED_MAX_IDLE <= rounded
}

/// The grid's share that a shared kernel's rounding may idle: one block
/// in this many.
pub const SHARED_MAX_IDLE: usize = 8;

/// Whether `problem` can run [`ConvKernel::BlocksK4`]
/// (gemm_blocks_k4.wgsl): a forward GEMM whose weight rows (C/g·R·S)
/// hold a multiple of 4 values, or a weight gradient whose output planes
/// (Ho·Wo) do, so that four reduction steps of B are one aligned vec4.
pub fn blocks_k4_fits(problem: &ConvProblem) -> bool {
    let g = &problem.geometry;
    match problem.op {
        ConvOp::Forward => problem.gemm().k.is_multiple_of(4),
        ConvOp::WeightGrad => g.ho * g.wo > 1 && (g.ho * g.wo).is_multiple_of(4),
        ConvOp::InputGrad => false,
    }
}

/// Whether `problem` can run [`ConvKernel::Depthwise`]
/// (conv2d_depthwise.wgsl): one input channel per group (C/g = 1, any
/// channel multiplier K/g), a 3x3 kernel at dilation 1, stride 1 or 2 on
/// each axis, any padding; and output rows of at most 4·65 535 values (the
/// weight gradient's inner loop walks a row 4 at a time).
pub fn depthwise_fits(problem: &ConvProblem) -> bool {
    let g = &problem.geometry;
    let p = &g.params;
    g.c_per_group() == 1
        && (g.r, g.s) == (3, 3)
        && p.dilation == [1, 1]
        && p.stride.iter().all(|&s| s == 1 || s == 2)
        && g.wo.div_ceil(4) <= MAX_LOOP_TRIPS
}

/// The entry of conv2d_depthwise.wgsl that runs a [`ConvKernel::Depthwise`]
/// forward: `forward_vec4_stride1` / `_stride2` where each output row is a
/// whole number of aligned vec4s (Wo a multiple of 4) and the stride is 1
/// or 2 on both axes: a block's row goes out as one vec4 store instead of
/// four per-lane scatters, and the stride, a constant there, takes the
/// other stride's loads and branches out of the window code (D1 of the
/// depthwise suite 1.6x faster than with the stride read at run time, on
/// lavapipe: docs/performance.md). `forward` (scalar stores, the stride a
/// pipeline constant) runs the rest. Where K/g is a multiple of 4 too, the
/// `_quads` twins take four channels per step, their 36 taps from 9 vec4
/// loads instead of 36 scalar ones; and of those at stride 1, padding 1
/// and W at most 4 · [`MAX_ROW_QUADS`] (a first layer of one input
/// channel: S1, the Fashion model's conv 0), `forward_rows_quads` takes
/// bands of 4 whole rows, their input rows as vec4s and the taps loaded
/// once per band instead of once per 4x4 block.
pub fn depthwise_forward_entry(problem: &ConvProblem) -> &'static str {
    let g = &problem.geometry;
    let quads = g.k_per_group().is_multiple_of(4);
    let whole_rows = g.params.padding == [1, 1] && g.w <= 4 * MAX_ROW_QUADS;
    match g.params.stride {
        [1, 1] if g.wo.is_multiple_of(4) && quads && whole_rows => "forward_rows_quads",
        [1, 1] if g.wo.is_multiple_of(4) && quads => "forward_vec4_stride1_quads",
        [2, 2] if g.wo.is_multiple_of(4) && quads => "forward_vec4_stride2_quads",
        [1, 1] if g.wo.is_multiple_of(4) => "forward_vec4_stride1",
        [2, 2] if g.wo.is_multiple_of(4) => "forward_vec4_stride2",
        _ => "forward",
    }
}

/// The entry of im2col.wgsl that turns the columns of `g`'s input
/// gradient into dx: `col2im_rows` (cells of whole rows of dx from whole
/// rows of columns, vec4 loads and stores) where dx's and the columns'
/// rows are whole vec4s, each at most [`MAX_ROW_QUADS`] of them, the
/// kernel at most 3x3 and the stride along H at most 2 (its written-out
/// code); `col2im_x4` (cells 4 columns wide, one vec4 store per row) where
/// W is a multiple of 4 and the stride along W divides 4; `col2im` (a cell
/// per invocation, scalar stores) elsewhere.
pub fn col2im_entry(g: &Conv2dGeometry) -> &'static str {
    let fits = |side: usize| side.is_multiple_of(4) && side <= 4 * MAX_ROW_QUADS;
    let small = g.r <= 3 && g.s <= 3 && g.params.stride[0] <= 2;
    if fits(g.w) && fits(g.wo) && small {
        "col2im_rows"
    } else if g.w.is_multiple_of(4) && 4 % g.params.stride[1] == 0 {
        "col2im_x4"
    } else {
        "col2im"
    }
}

/// The widest row, in vec4s, that conv2d_depthwise.wgsl's
/// `input_grad_rows` takes whole (its written-out code holds 8), and
/// im2col.wgsl's `im2col_rows` (its row array holds 8).
pub const MAX_ROW_QUADS: usize = 8;

/// The entry of im2col.wgsl that writes the columns of `g`'s forward or
/// weight gradient: `im2col_rows` (a row of x per invocation, loaded as
/// vec4s once for its S taps, the columns stored as vec4s) where x's and
/// the columns' rows are whole vec4s, each at most [`MAX_ROW_QUADS`] of
/// them, and the kernel at most 3 wide (its written-out code); `im2col_x4`
/// (a row of columns per invocation, from scalar loads) where the
/// columns' rows are whole vec4s; `im2col` (scalar stores) elsewhere.
pub fn im2col_entry(g: &Conv2dGeometry) -> &'static str {
    let fits = |side: usize| side.is_multiple_of(4) && side <= 4 * MAX_ROW_QUADS;
    let rows = fits(g.w) && fits(g.wo) && g.s <= 3;
    match g.wo.is_multiple_of(4) {
        true if rows => "im2col_rows",
        true => "im2col_x4",
        false => "im2col",
    }
}

/// The entry of conv2d_depthwise.wgsl that runs a [`ConvKernel::Depthwise`]
/// input gradient: `input_grad_x8` (4x8 blocks of dx from vec4 loads of
/// dy's rows) at stride 1 and padding 1 with rows of a multiple of 4
/// values (W = Wo, so dy's and dx's rows are both whole vec4s);
/// `input_grad` (4x4 blocks from scalar loads) elsewhere. (Four channels'
/// taps from 9 vec4 loads, as the forward's `_quads` entries read them,
/// made S1's input gradient slower here: docs/performance.md.)
pub fn depthwise_input_grad_entry(problem: &ConvProblem) -> &'static str {
    let g = &problem.geometry;
    let p = &g.params;
    let stride1_pad1 = p.stride == [1, 1] && p.padding == [1, 1];
    if stride1_pad1 && g.w.is_multiple_of(4) && g.w <= 4 * MAX_ROW_QUADS {
        "input_grad_rows"
    } else if stride1_pad1 && g.w.is_multiple_of(4) {
        "input_grad_x8"
    } else {
        "input_grad"
    }
}

/// Whether a [`ConvKernel::Depthwise`] weight gradient of `g` runs
/// conv2d_depthwise.wgsl's `weight_grad_fanout`: stride 1, Wo and K/g
/// multiples of 4 (dy's block rows are vec4s, four channels per
/// invocation). Elsewhere `weight_grad` runs.
pub fn depthwise_fanout(g: &Conv2dGeometry) -> bool {
    g.params.stride == [1, 1] && g.wo.is_multiple_of(4) && g.k_per_group().is_multiple_of(4)
}

/// The entry of conv2d_depthwise.wgsl that runs a [`ConvKernel::Depthwise`]
/// weight gradient: `weight_grad_fanout` where [`depthwise_fanout`], its
/// `_x4` twin (each input row of a block's patch from one vec4 load and
/// two scalar ones instead of six scalar ones) where the padding is 1 too
/// (then W = Wo, a multiple of 4), `weight_grad` elsewhere.
pub fn depthwise_weight_grad_entry(problem: &ConvProblem) -> &'static str {
    let g = &problem.geometry;
    match (depthwise_fanout(g), g.params.padding == [1, 1]) {
        (true, true) => "weight_grad_fanout_x4",
        (true, false) => "weight_grad_fanout",
        (false, _) => "weight_grad",
    }
}

/// `kernel`, except `Pointwise` or `BlocksK4` on a problem it cannot
/// take, which runs `Blocks`, the same blocks from scalar loads,
/// `PointwiseSharedWide` on one whose columns are not whole 64s or whose
/// row blocks do not come in eights, which runs `PointwiseShared`'s
/// rule, `PointwiseShared` on one whose row blocks do not come in whole
/// eights, which runs `PointwiseLarge` (or `Blocks`), and `Depthwise` on
/// one it cannot take, which runs `Direct`.
fn pointwise_or_blocks(problem: &ConvProblem, kernel: ConvKernel) -> ConvKernel {
    let fits = match kernel {
        ConvKernel::PointwiseSharedWide if !pointwise_shared_wide_fits(problem) => {
            return pointwise_or_blocks(problem, ConvKernel::PointwiseShared);
        }
        ConvKernel::PointwiseShared if !pointwise_shared_fits(problem) => {
            return pointwise_or_blocks(problem, ConvKernel::PointwiseLarge);
        }
        ConvKernel::Pointwise
        | ConvKernel::PointwiseLarge
        | ConvKernel::PointwiseShared
        | ConvKernel::PointwiseSharedWide => pointwise_fits(problem),
        ConvKernel::BlocksK4 => blocks_k4_fits(problem),
        ConvKernel::Depthwise => return depthwise_or_direct(problem),
        _ => true,
    };
    if fits {
        kernel
    } else {
        ConvKernel::Blocks
    }
}

fn auto_depthwise(problem: &ConvProblem, facts: &AdapterFacts) -> bool {
    let narrow = problem.geometry.k_per_group() < NARROW_COLUMNS;
    let cpu_wide = facts.cpu
        && match problem.op {
            ConvOp::Forward => true,
            ConvOp::WeightGrad => depthwise_fanout(&problem.geometry),
            ConvOp::InputGrad => true,
        };
    depthwise_fits(problem) && (narrow || cpu_wide)
}

fn depthwise_or_direct(problem: &ConvProblem) -> ConvKernel {
    if depthwise_fits(problem) {
        ConvKernel::Depthwise
    } else {
        ConvKernel::Direct
    }
}

impl ConvPlan {
    /// The kernel that runs `piece`, a cut of the planned problem's batch
    /// (ops/split.rs): the plan's, unless the cut leaves a weight
    /// gradient's reduction that `Pointwise` cannot take.
    pub(crate) fn kernel_for(&self, piece: &ConvProblem) -> ConvKernel {
        pointwise_or_blocks(piece, self.kernel)
    }
}

/// The plans `Policy::Tuned` has chosen on one device, and the file they
/// persist in (`WGCONV_TUNE_CACHE`); measured and filled by ops/tune.rs.
#[derive(Debug, Default)]
pub(crate) struct TunedPlans {
    pub(crate) chosen: HashMap<ConvProblem, ConvPlan>,
    pub(crate) file: Option<PathBuf>,
    /// Problems measured by this device (not read from the file).
    pub(crate) measured: usize,
}

impl TunedPlans {
    pub(crate) fn from_env() -> TunedPlans {
        TunedPlans {
            file: std::env::var_os("WGCONV_TUNE_CACHE").map(PathBuf::from),
            ..TunedPlans::default()
        }
    }
}

/// Workgroups the split-K choice aims for: enough to keep a large GPU busy.
const TARGET_WORKGROUPS: usize = 512;
/// Invocations the direct weight gradient aims for, (split, element) pairs.
const DIRECT_TARGET: usize = 8192;
/// Shortest reduction range worth a split of its own (in k elements).
const MIN_SPLIT_LEN: usize = 256;
/// Longest reduction range of one split: the loop budget, in whole k-steps.
pub(crate) const MAX_SPLIT_LEN: usize = MAX_LOOP_TRIPS / TILE_K * TILE_K;

/// Most splits of a reduction with `out_len` outputs: the loop budget of
/// `reduce_splits`, and one binding of partial sums.
pub(crate) fn most_splits(out_len: usize, max_binding: u64) -> usize {
    MAX_LOOP_TRIPS
        .min(max_binding as usize / 4 / out_len)
        .max(1)
}

/// Workgroups of output tiles below which a forward GEMM splits its
/// reduction: a linear layer's GEMM (batch rows x output features, a long
/// reduction over the input features) has a handful of tiles, too few to
/// occupy even a 2-core CPU adapter, while a convolution's many output
/// positions give it enough, and splitting it would only add a pass over
/// the output.
const FORWARD_SPLIT_BELOW: usize = 8;
/// Shortest forward reduction that splits: 4 ranges of [`MIN_SPLIT_LEN`];
/// a shorter one (a small linear layer) gains less from the parallelism
/// than the second pass costs.
const FORWARD_SPLIT_MIN_K: usize = 4 * MIN_SPLIT_LEN;

/// How `problem`'s reduction is cut under `kernel`, `(splits,
/// split_len)`: weight gradients by [`split_k`]; forward GEMMs too where
/// their output tiles fill fewer than [`FORWARD_SPLIT_BELOW`] workgroups
/// and the reduction is at least [`FORWARD_SPLIT_MIN_K`] deep (their
/// `reduce_splits` adds the bias); input gradients and the direct
/// forward kernel never.
pub(crate) fn reduction_split(
    problem: &ConvProblem,
    kernel: ConvKernel,
    max_binding: u64,
) -> (usize, usize) {
    let d = problem.gemm();
    let g = &problem.geometry;
    let out_len = |shape: [usize; 4]| shape.iter().product::<usize>();
    match (problem.op, kernel.tile()) {
        (ConvOp::WeightGrad, _) if kernel == ConvKernel::Depthwise => {
            depthwise_split(g, max_binding)
        }
        (ConvOp::WeightGrad, _) => split_k(kernel, d, g, out_len(g.w_shape()), max_binding),
        (ConvOp::Forward, Some(tile)) => {
            let tiles = d.m.div_ceil(tile.m) * d.n.div_ceil(tile.n) * g.groups();
            if tiles.div_ceil(tile.per_workgroup) < FORWARD_SPLIT_BELOW
                && d.k >= FORWARD_SPLIT_MIN_K
            {
                split_k(kernel, d, g, out_len(g.y_shape()), max_binding)
            } else {
                (1, d.k)
            }
        }
        _ => (1, d.k),
    }
}

/// How the depthwise weight gradient's rows are cut, `(splits, rows per
/// split)`: `weight_grad`'s N·Ho output rows, one invocation per (split,
/// channel), or `weight_grad_fanout`'s N·⌈Ho/4⌉ rows of 4x4 blocks, one
/// invocation per (split, quad of channels) ([`depthwise_fanout`]).
/// Channels alone are too few invocations (MobileNetV2's layers have
/// 32–960); aim for [`DIRECT_TARGET`] of them, with at least
/// [`MIN_SPLIT_LEN`] multiply-adds of each tap per split, and within the
/// loop budget (a row is ⌈Wo/4⌉ trips) and one binding of partial sums.
pub(crate) fn depthwise_split(g: &Conv2dGeometry, max_binding: u64) -> (usize, usize) {
    let (rows, row_len, per_split) = if depthwise_fanout(g) {
        (g.n * g.ho.div_ceil(4), 4 * g.wo, g.k / 4)
    } else {
        (g.n * g.ho, g.wo, g.k)
    };
    let per_row = g.wo.div_ceil(4);
    let most_rows = (MAX_LOOP_TRIPS / per_row).max(1);
    let least = rows.div_ceil(most_rows);
    let most = rows
        .div_ceil(MIN_SPLIT_LEN.div_ceil(row_len).max(1))
        .min(most_splits(g.k * 9, max_binding));
    let splits = DIRECT_TARGET
        .div_ceil(per_split)
        .min(most)
        .max(least)
        .max(1);
    let split_len = rows.div_ceil(splits);
    (rows.div_ceil(split_len), split_len)
}

/// How many ranges a reduction `d.k` with `out_len` outputs (the weight
/// gradient's, or a forward GEMM's) is cut into, and how long each is.
/// Long reductions with few output tiles are split so the device has
/// enough workgroups (or, for `Direct`, invocations); the partial sums are
/// then added in split order by `reduce_splits`. Ranges are at least
/// [`MIN_SPLIT_LEN`] long, at most [`MAX_SPLIT_LEN`] (the loop budget),
/// multiples of [`TILE_K`] for the GEMM kernels.
pub(crate) fn split_k(
    kernel: ConvKernel,
    d: GemmDims,
    g: &Conv2dGeometry,
    out_len: usize,
    max_binding: u64,
) -> (usize, usize) {
    let dw_len = out_len;
    let most_by_memory = most_splits(dw_len, max_binding);
    let least = d.k.div_ceil(MAX_SPLIT_LEN);
    let Some(tile) = kernel.tile() else {
        let wanted = DIRECT_TARGET.div_ceil(dw_len);
        let most = d.k.div_ceil(MIN_SPLIT_LEN).min(most_by_memory);
        let splits = wanted.min(most).max(least).max(1);
        let split_len = d.k.div_ceil(splits);
        return (d.k.div_ceil(split_len), split_len);
    };
    // The shared-lanes kernels split as `PointwiseLarge` does (counted on
    // its 32x32 blocks: the same 1 024 outputs a block, but 16-row blocks
    // round differently), so that all three sum in the same order.
    let tile = match kernel {
        ConvKernel::PointwiseSharedWide => ConvKernel::PointwiseLarge.tile().unwrap_or(tile),
        _ => tile,
    };
    let tiles = d.m.div_ceil(tile.m) * d.n.div_ceil(tile.n) * g.groups();
    let wanted = (TARGET_WORKGROUPS * tile.per_workgroup).div_ceil(tiles);
    let most = d.k.div_ceil(MIN_SPLIT_LEN);
    let splits = wanted.min(most).min(most_by_memory).max(least).max(1);
    let split_len = d.k.div_ceil(splits).div_ceil(TILE_K) * TILE_K;
    (d.k.div_ceil(split_len), split_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(op: ConvOp, x: [usize; 4], w: [usize; 4]) -> ConvProblem {
        ConvProblem::new(op, &x, &w, &Conv2dParams::default()).unwrap()
    }

    fn dw_len(p: &ConvProblem) -> usize {
        p.geometry.w_shape().iter().product()
    }

    /// A linear layer's forward GEMM (128 rows, 128 columns, 3136 deep)
    /// splits its reduction on CPU and GPU kernels alike; a convolution's
    /// (25 088 rows) and every input gradient do not.
    #[test]
    fn only_forward_gemms_with_few_tiles_split() {
        let linear = problem(ConvOp::Forward, [128, 3136, 1, 1], [128, 3136, 1, 1]);
        let conv = problem(ConvOp::Forward, [128, 32, 14, 14], [64, 32, 3, 3]);
        let input = problem(ConvOp::InputGrad, [128, 3136, 1, 1], [128, 3136, 1, 1]);
        for kernel in [
            ConvKernel::Blocks,
            ConvKernel::BlocksTall,
            ConvKernel::TiledWide,
        ] {
            let (splits, len) = reduction_split(&linear, kernel, 1 << 27);
            assert!(splits > 1, "{kernel:?}: linear forward not split");
            assert!(splits * len >= 3136 && (splits - 1) * len < 3136);
            assert_eq!(reduction_split(&conv, kernel, 1 << 27).0, 1, "{kernel:?}");
            assert_eq!(reduction_split(&input, kernel, 1 << 27).0, 1, "{kernel:?}");
        }
        assert_eq!(reduction_split(&linear, ConvKernel::Direct, 1 << 27).0, 1);
    }

    /// Lanes share loads on CPU adapters with 8-lane subgroups only, and
    /// there Auto's pointwise GEMMs whose 32-row blocks come in whole
    /// eights run `PointwiseShared`: conv 4's Winograd forward and input
    /// gradient (2 048 tile rows), not its weight gradient (32 rows), not
    /// a linear layer of batch 128 (4 row blocks).
    #[test]
    fn lanes_share_loads_on_cpu_adapters_with_eight_lane_subgroups() {
        assert!(shares_lanes(true, true, 8, 8));
        assert!(!shares_lanes(false, true, 8, 8));
        assert!(!shares_lanes(true, false, 8, 8));
        assert!(!shares_lanes(true, true, 4, 8));
        assert!(!shares_lanes(true, true, 16, 16));
        let facts = |lanes| AdapterFacts {
            cpu: true,
            max_storage_buffer_binding_size: 1 << 27,
            subgroup_lanes: lanes,
        };
        let p = Conv2dParams::square(1, 1);
        let conv4 = |op| ConvProblem::new(op, &[128, 32, 14, 14], &[64, 32, 3, 3], &p).unwrap();
        let kernel = |op, lanes| plan(&conv4(op), &facts(lanes), Policy::Auto).kernel;
        // Winograd's batched GEMMs: the forward's 64 columns (K) take
        // the wide blocks, the input gradient's 32 (C) the square ones.
        assert_eq!(kernel(ConvOp::Forward, 8), ConvKernel::PointwiseSharedWide);
        assert_eq!(kernel(ConvOp::InputGrad, 8), ConvKernel::PointwiseShared);
        assert_eq!(kernel(ConvOp::WeightGrad, 8), ConvKernel::PointwiseLarge);
        for op in ConvOp::ALL {
            assert_eq!(kernel(op, 0), ConvKernel::PointwiseLarge, "{op:?}");
        }
        let linear = |batch, features| {
            let d = Conv2dParams::default();
            ConvProblem::new(
                ConvOp::Forward,
                &[batch, 3136, 1, 1],
                &[features, 3136, 1, 1],
                &d,
            )
            .unwrap()
        };
        let linear_kernel =
            |batch, features| plan(&linear(batch, features), &facts(8), Policy::Auto).kernel;
        // 128 features: 16-row blocks in whole eights take the wide blocks,
        // and so do 15 of them (one idle in 16); 17 would idle 7 in 24.
        assert_eq!(linear_kernel(128, 128), ConvKernel::PointwiseSharedWide);
        assert_eq!(linear_kernel(256, 128), ConvKernel::PointwiseSharedWide);
        assert_eq!(linear_kernel(232, 128), ConvKernel::PointwiseSharedWide);
        assert_eq!(linear_kernel(264, 128), ConvKernel::PointwiseLarge);
        // The rounding's rule: at most one idle block in eight of the grid.
        for (blocks, pays) in [(0, false), (1, false), (8, true), (15, true), (33, false)] {
            assert_eq!(shared_rounding_pays(blocks), pays, "{blocks} row blocks");
        }
        for (blocks, pays) in [(36, true), (41, false), (49, true), (57, true), (65, true)] {
            assert_eq!(shared_rounding_pays(blocks), pays, "{blocks} row blocks");
        }
        // S4's im2col weight gradient: 576 rows, 36 wide blocks (4 idle in 40).
        let s4 = ConvProblem::new(
            ConvOp::WeightGrad,
            &[32, 64, 32, 32],
            &[128, 64, 3, 3],
            &Conv2dParams::square(2, 1),
        )
        .unwrap();
        let gemm = im2col_gemm(&s4).unwrap();
        assert_eq!(
            plan(&gemm, &facts(8), Policy::Auto).kernel,
            ConvKernel::PointwiseSharedWide
        );
        // 96 features, not whole 64s: the square blocks' rule.
        assert_eq!(linear_kernel(128, 96), ConvKernel::PointwiseLarge);
        assert_eq!(linear_kernel(256, 96), ConvKernel::PointwiseShared);
        // 65 row blocks: rounded up to 72 in the grid; 63 to 64; 41 would
        // idle 7 of 48.
        assert_eq!(linear_kernel(2080, 96), ConvKernel::PointwiseShared);
        assert_eq!(linear_kernel(2016, 96), ConvKernel::PointwiseShared);
        assert_eq!(linear_kernel(1300, 96), ConvKernel::PointwiseLarge);
        let tile = ConvKernel::PointwiseShared.tile().unwrap();
        assert_eq!((tile.row_blocks(2080), tile.row_blocks(2048)), (72, 64));
        let large = ConvKernel::PointwiseLarge.tile().unwrap();
        assert_eq!(large.row_blocks(2080), 65);
        let wide = ConvKernel::PointwiseSharedWide.tile().unwrap();
        assert_eq!((wide.m, wide.n, wide.row_blocks(2064)), (16, 64, 136));
        // Forced without shared lanes, or on rows that are not whole eights.
        for kernel in [ConvKernel::PointwiseShared, ConvKernel::PointwiseSharedWide] {
            let forced = Policy::Force(kernel);
            assert_eq!(
                plan(&linear(256, 128), &facts(0), forced).kernel,
                ConvKernel::PointwiseLarge
            );
            assert_eq!(
                plan(&linear(264, 128), &facts(8), forced).kernel,
                ConvKernel::PointwiseLarge
            );
        }
        // Wide forced where the columns are not whole 64s: the square rule.
        let forced = Policy::Force(ConvKernel::PointwiseSharedWide);
        assert_eq!(
            plan(&linear(256, 96), &facts(8), forced).kernel,
            ConvKernel::PointwiseShared
        );
    }

    /// Fashion's conv 4 under Auto keeps V on a CPU adapter (F(4x4) for
    /// both ops), not on a GPU, and never across algorithms or tiles.
    #[test]
    fn only_a_cpu_adapters_matching_winograd_plans_share_the_transform() {
        let facts = |cpu| AdapterFacts {
            cpu,
            max_storage_buffer_binding_size: 1 << 27,
            subgroup_lanes: 0,
        };
        let (x, w) = ([128, 32, 14, 14], [64, 32, 3, 3]);
        let conv = |op| ConvProblem::new(op, &x, &w, &Conv2dParams::square(1, 1)).unwrap();
        let on = |cpu, policy| {
            let [f, g] = [ConvOp::Forward, ConvOp::WeightGrad]
                .map(|op| plan(&conv(op), &facts(cpu), policy));
            shares_input_transform(&f, &g, &facts(cpu))
        };
        assert!(on(true, Policy::Auto));
        assert!(on(true, Policy::Winograd));
        assert!(!on(false, Policy::Auto));
        assert!(!on(true, Policy::Force(ConvKernel::Blocks)));
        let f = plan(&conv(ConvOp::Forward), &facts(true), Policy::Winograd4);
        let g = plan(&conv(ConvOp::WeightGrad), &facts(true), Policy::Winograd);
        assert!(!shares_input_transform(&f, &g, &facts(true)));
        assert!(!shares_input_transform(&g, &f, &facts(true)));
    }

    /// F(4x4)'s transforms: Fashion's conv 4 (14x14, rows of 4 tiles,
    /// even widths, 32 input channels) takes every pair entry and the
    /// four-kernel weight transform; 9x7 outputs (rows of 2 tiles, odd
    /// widths) runs of four only; 16x20 (rows of 5 tiles, even) pairs for
    /// the output only; 11 tiles none; 4 input channels the four-kernel
    /// weight transform only; F(2x2) none.
    #[test]
    fn winograd_runs_follow_the_tile_grid_and_the_widths() {
        let g = |x: [usize; 4], pad| {
            Conv2dGeometry::new("test", &x, &[8, x[1], 3, 3], &Conv2dParams::square(1, pad))
                .unwrap()
        };
        let runs = |fours, input_pairs, output_pairs, weight_quads| WinogradRuns {
            fours,
            input_pairs,
            output_pairs,
            weight_quads,
        };
        let conv4 = g([128, 32, 14, 14], 1);
        assert_eq!(winograd_runs(&conv4, 4), runs(true, true, true, true));
        assert_eq!(
            winograd_runs(&g([2, 6, 9, 7], 1), 4),
            runs(true, false, false, false)
        );
        assert_eq!(
            winograd_runs(&g([1, 5, 16, 20], 1), 4),
            runs(true, false, true, false)
        );
        assert_eq!(
            winograd_runs(&g([1, 5, 46, 6], 0), 4),
            runs(false, false, false, false)
        );
        assert_eq!(
            winograd_runs(&g([1, 4, 46, 6], 0), 4),
            runs(false, false, false, true)
        );
        assert_eq!(winograd_runs(&conv4, 2), WinogradRuns::default());
    }

    /// The wide shared blocks split every reduction as `PointwiseLarge`
    /// does, also where 16-row blocks round differently from 32-row ones
    /// (1 040 rows: 65 blocks against 33), so the two sum alike.
    #[test]
    fn wide_blocks_split_as_pointwise_large() {
        let facts = AdapterFacts {
            cpu: true,
            max_storage_buffer_binding_size: 1 << 30,
            subgroup_lanes: SHARED_LANES,
        };
        let wide = Policy::Force(ConvKernel::PointwiseSharedWide);
        let large = Policy::Force(ConvKernel::PointwiseLarge);
        let mut seen = 0;
        for (x, w) in [
            ([51, 1040, 16, 16], [640, 1040, 1, 1]),
            ([32, 128, 16, 16], [256, 128, 1, 1]),
            ([128, 3136, 1, 1], [128, 3136, 1, 1]),
            ([4, 1040, 8, 8], [64, 1040, 1, 1]),
        ] {
            for op in ConvOp::ALL {
                let p = problem(op, x, w);
                let on_wide = plan(&p, &facts, wide);
                if on_wide.kernel != ConvKernel::PointwiseSharedWide {
                    continue;
                }
                seen += 1;
                let on_large = plan(&p, &facts, large);
                assert_eq!(on_wide.splits, on_large.splits, "{op:?} {x:?} {w:?}");
            }
        }
        assert!(seen >= 8, "the wide blocks took only {seen} problems");
        // The first weight gradient: 65 wide row blocks against 33 large
        // ones; counted on its own blocks, the wide kernel would want a
        // different split.
        let p = problem(ConvOp::WeightGrad, [51, 1040, 16, 16], [640, 1040, 1, 1]);
        let d = p.gemm();
        let count = |rows| {
            (TARGET_WORKGROUPS * 64).div_ceil(d.m.div_ceil(rows) * d.n.div_ceil(1024 / rows))
        };
        assert_ne!(count(16), count(32));
    }

    #[test]
    fn split_k_covers_the_reduction_within_the_loop_budget() {
        for (x, w) in [
            ([4096, 1, 7, 7], [64, 1, 3, 3]),
            ([32, 128, 16, 16], [128, 128, 3, 3]),
            ([1, 1, 3, 3], [1, 1, 3, 3]),
            ([2048, 3, 9, 9], [64, 3, 7, 7]),
            ([1024, 1, 258, 258], [1, 1, 3, 3]),
        ] {
            let p = problem(ConvOp::WeightGrad, x, w);
            let d = p.gemm();
            for kernel in ConvKernel::ALL {
                let (splits, len) = split_k(kernel, d, &p.geometry, dw_len(&p), 1 << 27);
                assert!(splits >= 1);
                assert!(kernel.tile().is_none() || len % TILE_K == 0);
                assert!(splits * len >= d.k, "{splits} x {len} < {}", d.k);
                assert!((splits - 1) * len < d.k, "an empty split for k = {}", d.k);
                assert!(len <= MAX_SPLIT_LEN, "split of {len} past the loop budget");
            }
        }
        // The memory cap holds where the loop budget allows it (callers cut
        // the batch so that it always does): 3 partial sums of dw.
        let p = problem(ConvOp::WeightGrad, [3000, 1, 7, 7], [64, 1, 3, 3]);
        let dw_bytes = 64 * 9 * 4;
        let (splits, _) = split_k(
            ConvKernel::Tiled,
            p.gemm(),
            &p.geometry,
            dw_len(&p),
            3 * dw_bytes,
        );
        assert!(splits <= 3, "{splits}");
    }

    /// The depthwise weight gradient's rows are covered without an empty
    /// range, each range within the loop budget (⌈Wo/4⌉ trips a row) and
    /// the partial sums within one binding.
    #[test]
    fn depthwise_split_covers_the_rows_within_the_loop_budget() {
        let dw = |n, c, h, w| {
            let p = Conv2dParams {
                groups: c as u32,
                ..Conv2dParams::square(1, 1)
            };
            ConvProblem::new(ConvOp::WeightGrad, &[n, c, h, w], &[c, 1, 3, 3], &p)
                .unwrap()
                .geometry
        };
        // A first layer of one input channel and 32 output channels (the
        // four-channel entry's rows of 4x4 blocks).
        let fanout = |n, h, w| {
            let p = Conv2dParams::square(1, 1);
            ConvProblem::new(ConvOp::WeightGrad, &[n, 1, h, w], &[32, 1, 3, 3], &p)
                .unwrap()
                .geometry
        };
        for (g, binding) in [
            (dw(8, 4, 40, 9), 1 << 27),
            (dw(32, 144, 28, 28), 1 << 27),
            (dw(1, 1, 3, 3), 1 << 27),
            (dw(2, 1, 4, 262_000), 1 << 27),
            (dw(4096, 1, 40, 40), 1 << 27),
            (dw(64, 960, 7, 7), 960 * 9 * 4 * 3),
            (fanout(128, 28, 28), 1 << 27),
            (fanout(4096, 30, 8), 1 << 27),
            (fanout(2, 3, 262_000), 1 << 27),
        ] {
            let (splits, len) = depthwise_split(&g, binding);
            let rows = match depthwise_fanout(&g) {
                true => g.n * g.ho.div_ceil(4),
                false => g.n * g.ho,
            };
            assert!(splits * len >= rows && (splits - 1) * len < rows, "{g:?}");
            assert!(len * g.wo.div_ceil(4) <= MAX_LOOP_TRIPS, "{g:?}");
            assert!(splits * g.k * 9 * 4 <= binding as usize, "{g:?}");
        }
        assert!(depthwise_fanout(&fanout(128, 28, 28)));
        assert_eq!(depthwise_split(&dw(8, 4, 40, 9), 1 << 27).0, 12);
    }

    #[test]
    fn policy_names_round_trip() {
        for p in Policy::ALL {
            assert_eq!(Policy::parse(p.name()), Some(p));
        }
        assert_eq!(
            Policy::parse("WIDE"),
            Some(Policy::Force(ConvKernel::TiledWide))
        );
        assert_eq!(Policy::parse("fastest"), None);
    }

    #[test]
    fn a_tap_table_past_one_binding_runs_direct_under_every_policy() {
        let p = problem(ConvOp::WeightGrad, [64, 8, 32, 32], [16, 8, 3, 3]);
        let facts = AdapterFacts {
            cpu: false,
            max_storage_buffer_binding_size: (p.tap_entries() as u64 * 16) - 1,
            subgroup_lanes: 0,
        };
        for policy in Policy::ALL {
            assert_eq!(plan(&p, &facts, policy).kernel, ConvKernel::Direct);
        }
    }
}
