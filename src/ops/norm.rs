//! `Gpu::norm` and its backward pass (shaders/norm.wgsl): torch's
//! `F.group_norm`, `F.layer_norm` and `F.instance_norm`, which differ only
//! in which values they normalise together ([`Normalization`], laid out by
//! [`NormLayout`]).

use super::{check_loop, check_owned, check_shape};
use crate::gpu::{Bindable, Shader};
use crate::shape::{NormLayout, Normalization};
use crate::{Error, Gpu, Tensor};

/// Mirror of WGSL `NormParams` (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct NormUniform {
    rows: u32,
    len: u32,
    inner: u32,
    count: u32,
    outer: u32,
    affine: u32,
    eps: f32,
    grid_x: u32,
}

/// The input gradient and, for each affine parameter given, its gradient:
/// `(dx, dweight, dbias)`.
pub type NormGrads<T> = (T, Option<T>, Option<T>);

/// `eps` as torch's norms take it: finite and not negative.
pub(crate) fn check_eps(op: &'static str, eps: f32) -> Result<(), Error> {
    if eps.is_finite() && eps >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParam {
            op,
            param: "eps",
            message: format!("{eps}: must be finite and at least 0"),
        })
    }
}

/// The layout of `kind` over `shape`, with the affine parameters' shapes
/// checked against it.
pub(crate) fn norm_layout(
    op: &'static str,
    shape: &[usize],
    kind: Normalization,
    params: [Option<&[usize]>; 2],
) -> Result<NormLayout, Error> {
    let layout = NormLayout::new(op, shape, kind)?;
    for (name, p) in ["weight", "bias"].into_iter().zip(params) {
        if let Some(p) = p {
            let want = match kind {
                Normalization::Layer { dims } => shape[shape.len() - dims..].to_vec(),
                _ => vec![layout.count],
            };
            if p != want.as_slice() {
                return Err(Error::ShapeMismatch {
                    op,
                    tensor: name,
                    expected: want,
                    got: p.to_vec(),
                });
            }
        }
    }
    Ok(layout)
}

impl Gpu {
    /// torch's group, layer or instance norm of `x` (`kind`), with an
    /// optional affine `weight` and `bias` (`[C]`, or layer norm's
    /// normalised shape): `(y, saved)`, `saved` `[rows, 2]` holding each
    /// row's mean and 1/sqrt(var + eps) for [`Gpu::norm_backward`].
    pub fn norm(
        &self,
        x: &Tensor,
        kind: Normalization,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f32,
    ) -> Result<(Tensor, Tensor), Error> {
        const OP: &str = "norm";
        check_owned(self, OP, &[("input", x)])?;
        for (name, t) in [("weight", weight), ("bias", bias)] {
            if let Some(t) = t {
                check_owned(self, OP, &[(name, t)])?;
            }
        }
        check_eps(OP, eps)?;
        let l = norm_layout(
            OP,
            x.shape(),
            kind,
            [weight.map(Tensor::shape), bias.map(Tensor::shape)],
        )?;
        check_rows(OP, &l)?;
        self.run(OP, |rec| {
            let y = self.output_unlocked(OP, x.shape())?;
            let saved = self.output_unlocked(OP, &[l.rows, 2])?;
            let grid = self.grid(OP, l.rows as u64)?;
            let u = uniform(&l, weight.is_some(), bias.is_some(), eps, grid.0);
            // Absent parameters are not read; any buffer fills their slot.
            let bound: [(u32, &dyn Bindable); 5] = [
                (1, &x.buffer),
                (2, &weight.unwrap_or(x).buffer),
                (3, &bias.unwrap_or(x).buffer),
                (4, &y.buffer),
                (5, &saved.buffer),
            ];
            rec.dispatch(
                Shader::Norm,
                "norm_forward",
                bytemuck::bytes_of(&u),
                &bound,
                grid,
            );
            Ok((y, saved))
        })
    }

    /// The backward pass of [`Gpu::norm`]: `dx`, and the gradients of the
    /// weight (when `weight` is given) and of the bias (when `bias`).
    pub fn norm_backward(
        &self,
        x: &Tensor,
        dy: &Tensor,
        kind: Normalization,
        weight: Option<&Tensor>,
        bias: bool,
        saved: &Tensor,
    ) -> Result<NormGrads<Tensor>, Error> {
        const OP: &str = "norm_backward";
        check_owned(
            self,
            OP,
            &[("input", x), ("output gradient", dy), ("saved", saved)],
        )?;
        if let Some(w) = weight {
            check_owned(self, OP, &[("weight", w)])?;
        }
        check_shape(OP, "output gradient", dy, x.shape())?;
        let l = norm_layout(OP, x.shape(), kind, [weight.map(Tensor::shape), None])?;
        check_shape(OP, "saved", saved, &[l.rows, 2])?;
        check_rows(OP, &l)?;
        self.run(OP, |rec| {
            let dx = self.output_unlocked(OP, x.shape())?;
            let grid = self.grid(OP, l.rows as u64)?;
            let u = uniform(&l, weight.is_some(), bias, 0.0, grid.0);
            let bound: [(u32, &dyn Bindable); 5] = [
                (1, &x.buffer),
                (2, &weight.unwrap_or(x).buffer),
                (4, &dx.buffer),
                (6, &dy.buffer),
                (7, &saved.buffer),
            ];
            rec.dispatch(
                Shader::Norm,
                "norm_backward",
                bytemuck::bytes_of(&u),
                &bound,
                grid,
            );
            if weight.is_none() && !bias {
                return Ok((dx, None, None));
            }
            let dw = self.output_unlocked(OP, &[l.count])?;
            let db = self.output_unlocked(OP, &[l.count])?;
            let grid = self.grid(OP, l.count as u64)?;
            let u = NormUniform {
                grid_x: grid.0,
                ..u
            };
            let bound: [(u32, &dyn Bindable); 5] = [
                (1, &x.buffer),
                (4, &dw.buffer),
                (6, &dy.buffer),
                (7, &saved.buffer),
                (8, &db.buffer),
            ];
            rec.dispatch(
                Shader::Norm,
                "norm_param_grads",
                bytemuck::bytes_of(&u),
                &bound,
                grid,
            );
            Ok((dx, weight.map(|_| dw), bias.then_some(db)))
        })
    }
}

fn uniform(l: &NormLayout, weight: bool, bias: bool, eps: f32, grid_x: u32) -> NormUniform {
    NormUniform {
        rows: l.rows as u32,
        len: l.len as u32,
        inner: l.inner as u32,
        count: l.count as u32,
        outer: (l.rows * l.len / (l.count * l.inner)) as u32,
        affine: u32::from(weight) | (u32::from(bias) << 1),
        eps,
        grid_x,
    }
}

/// Each lane walks a row (or a parameter's values) 64 at a time, in 32-bit
/// indices.
fn check_rows(op: &'static str, l: &NormLayout) -> Result<(), Error> {
    if (l.rows as u64) * (l.len as u64) >= u32::MAX as u64 {
        return Err(Error::TooLarge {
            op,
            what: format!(
                "{} values: flat indices must fit in 32 bits",
                l.rows * l.len
            ),
        });
    }
    check_loop(
        op,
        "65 535 loop iterations per invocation (a row's values / 64)",
        l.len
            .div_ceil(64)
            .max((l.rows * l.len / l.count).div_ceil(64)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::{check_uniform_layout, fields};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(NormUniform: rows, len, inner, count, outer, affine, eps, grid_x);
        let size = std::mem::size_of::<NormUniform>();
        check_uniform_layout(Shader::Norm, "NormParams", size, &fields);
    }
}
