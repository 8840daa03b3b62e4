//! `Gpu::bias_grad`: the bias gradient, a per-channel sum of the output
//! gradient (shaders/bias_grad.wgsl).

use super::add::sum_pieces;
use super::conv_uniform::slot;
use super::split::{batch_chunk, slice};
use super::{check_owned, direct_workgroups, ConvUniform};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::plan::MAX_LOOP_TRIPS;
use crate::shape::check_4d;
use crate::{Error, Gpu, Tensor};

const OP: &str = "bias_grad";

impl Gpu {
    /// `db[k] = Σ_{n, oh, ow} dy[n, k, oh, ow]` for `dy` of shape
    /// `[N, K, Ho, Wo]`; returns `db` of shape `[K]`. The sum runs in a fixed
    /// order (deterministic). Fails if `dy` is not 4-D, has a zero
    /// dimension, or lives on another `Gpu`.
    pub fn bias_grad(&self, dy: &Tensor) -> Result<Tensor, Error> {
        check_owned(self, OP, &[("output gradient", dy)])?;
        let [n, k, ho, wo] = check_4d(OP, "output gradient", dy.shape())?;
        self.run(OP, |rec| {
            let db = self.output_unlocked(OP, &[k])?;
            record_bias_grad(rec, [n, k, ho, wo], &dy.buffer, &db.buffer)?;
            Ok(db)
        })
    }
}

/// Records the bias gradient of a validated `dy` of shape `dy_shape` into
/// `rec`. Where `dy` exceeds one binding the batch is split: the first
/// piece writes `db`, later ones a scratch buffer added into `db` in order.
pub(crate) fn record_bias_grad(
    rec: &mut Recorder,
    [n, k, ho, wo]: [usize; 4],
    dy: &wgpu::Buffer,
    db: &wgpu::Buffer,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let per_image = (k * ho * wo * 4) as u64;
    // Each of the 256 invocations of a channel loops over every 256th
    // element of its piece: at most MAX_LOOP_TRIPS times.
    let max_images = 256 * MAX_LOOP_TRIPS / (ho * wo);
    let chunk = batch_chunk(gpu, OP, n, &[per_image], max_images)?;
    sum_pieces(rec, OP, n, chunk, db, k, |rec, n0, count, dst| {
        record_piece(
            rec,
            [count, k, ho, wo],
            &slice(dy, per_image, n0, count),
            dst,
        )
    })
}

fn record_piece(
    rec: &mut Recorder,
    [n, k, ho, wo]: [usize; 4],
    dy: &dyn Bindable,
    db: &dyn Bindable,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    // Short channels: one invocation each; longer ones a workgroup each
    // (shaders/bias_grad.wgsl). On a CPU adapter the tree's barriers cost
    // more than a serial sum up to a few thousand values; on a GPU the
    // serial loop's loads are strided (H·W apart between neighbours), so
    // only channels of at most 256 values take it there.
    let short = if gpu.facts().cpu { 2048 } else { 256 };
    let (entry, workgroups) = if n * ho * wo <= short {
        ("bias_grad_columns", direct_workgroups(k))
    } else {
        ("bias_grad", k as u64)
    };
    let grid = gpu.grid(OP, workgroups)?;
    let u = ConvUniform {
        n: n as u32,
        k: k as u32,
        ho: ho as u32,
        wo: wo as u32,
        grid_x: grid.0,
        ..Default::default()
    };
    rec.dispatch(
        Shader::BiasGrad,
        entry,
        bytemuck::bytes_of(&u),
        &[(slot::A, dy), (slot::B, db)],
        grid,
    );
    Ok(())
}
