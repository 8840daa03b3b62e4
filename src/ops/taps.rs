//! Tap tables for the GEMM kernels: the decomposition of every reduction
//! index kk into offsets, computed once per geometry on the host so the
//! shaders load it instead of dividing (see the headers of the conv
//! shaders for each table's layout). Cached per device and geometry.

use crate::plan::{ConvOp, ConvProblem};
use crate::{Conv2dGeometry, Error, Gpu};

/// Tables kept per device before the cache is cleared (bounds memory in
/// long runs over many shapes).
const CACHE_CAPACITY: usize = 64;

fn build(op: ConvOp, g: &Conv2dGeometry, phase: [usize; 2]) -> Vec<[u32; 4]> {
    let p = &g.params;
    let (dh, dw) = (p.dilation[0] as usize, p.dilation[1] as usize);
    let (sh, sw) = (p.stride[0] as usize, p.stride[1] as usize);
    let mut out = Vec::new();
    // Offsets fit in u32: Conv2dGeometry bounds every tensor by 2^32 − 1 elements.
    let v = |a: usize, b: usize, c: usize, d: usize| [a as u32, b as u32, c as u32, d as u32];
    match op {
        ConvOp::Forward => {
            for c in 0..g.c_per_group() {
                for r in 0..g.r {
                    for s in 0..g.s {
                        out.push(v(c * g.h * g.w + r * dh * g.w + s * dw, r * dh, s * dw, 0));
                    }
                }
            }
        }
        ConvOp::InputGrad => {
            // Only the taps that land on an output position from the
            // phase's input positions: (phase + pad − tap) divisible by the
            // stride. The offset (phase + pad − tap) / stride (negative
            // when the tap reaches before the first output) is stored as
            // an i32 bit pattern.
            let rs = g.r * g.s;
            let offset = |phase: usize, pad: u32, tap: usize, stride: usize| {
                let num = phase as i64 + pad as i64 - tap as i64;
                (num.rem_euclid(stride as i64) == 0).then(|| (num / stride as i64) as i32 as u32)
            };
            for k in 0..g.k_per_group() {
                for r in 0..g.r {
                    let Some(oh) = offset(phase[0], p.padding[0], r * dh, sh) else {
                        continue;
                    };
                    for s in 0..g.s {
                        let Some(ow) = offset(phase[1], p.padding[1], s * dw, sw) else {
                            continue;
                        };
                        out.push([
                            (k * g.ho * g.wo) as u32,
                            oh,
                            ow,
                            (k * g.c_per_group() * rs + r * g.s + s) as u32,
                        ]);
                    }
                }
            }
        }
        ConvOp::WeightGrad => {
            for n in 0..g.n {
                for oh in 0..g.ho {
                    for ow in 0..g.wo {
                        out.push(v(
                            n * g.c * g.h * g.w,
                            n * g.k * g.ho * g.wo + oh * g.wo + ow,
                            oh * sh,
                            ow * sw,
                        ));
                    }
                }
            }
        }
    }
    out
}

impl Gpu {
    /// The tap table of `problem`, built and uploaded on first use.
    pub(crate) fn taps(&self, problem: &ConvProblem) -> Result<wgpu::Buffer, Error> {
        self.taps_phase(problem, [0, 0]).map(|(b, _)| b)
    }

    /// The tap table of `problem` for stride phase `phase` (input gradient
    /// only; [0, 0] elsewhere) and its number of taps.
    pub(crate) fn taps_phase(
        &self,
        problem: &ConvProblem,
        phase: [usize; 2],
    ) -> Result<(wgpu::Buffer, usize), Error> {
        let (op, g) = (problem.op, problem.geometry);
        let key = (op, g, phase);
        let mut cache = self.inner.tables.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = cache.get(&key) {
            return Ok(b.clone());
        }
        let mut table = build(op, &g, phase);
        let len = table.len();
        // A phase without taps still needs a non-empty binding; the kernel
        // reads none of it (taps_len = 0).
        if table.is_empty() {
            table.push([0; 4]);
        }
        self.check_storage_size(op.kernel_name(), table.len() as u64 * 16)?;
        let buffer = wgpu::util::DeviceExt::create_buffer_init(
            &self.inner.device,
            &wgpu::util::BufferInitDescriptor {
                label: Some(op.kernel_name()),
                contents: bytemuck::cast_slice(&table),
                usage: wgpu::BufferUsages::STORAGE,
            },
        );
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(key, (buffer.clone(), len));
        Ok((buffer, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Conv2dParams;

    #[test]
    fn every_table_has_the_entries_the_plan_counts() {
        let p = Conv2dParams::square(1, 1);
        for op in ConvOp::ALL {
            let problem = ConvProblem::new(
                op,
                &[2, 6, 5, 7],
                &[4, 3, 3, 2],
                &Conv2dParams { groups: 2, ..p },
            )
            .unwrap();
            assert_eq!(
                build(op, &problem.geometry, [0, 0]).len(),
                problem.tap_entries(),
                "{op:?}"
            );
        }
    }
}
