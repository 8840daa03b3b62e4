//! The losses a model is trained against.

use super::{functional, Backend, Var};
use crate::Error;

/// A loss over a batch, averaged over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Softmax over the last axis of `[N, C]` logits, then cross-entropy
    /// against target probabilities (one-hot rows: see [`one_hot`]).
    SoftmaxCrossEntropy,
    /// Mean squared error over all elements.
    MeanSquaredError,
}

impl Loss {
    /// The loss of prediction `y` against targets `t`, as a one-element
    /// [`Var`] to call `backward` on.
    pub fn forward<B: Backend>(self, y: &Var<B>, t: &Var<B>) -> Result<Var<B>, Error> {
        match self {
            Loss::SoftmaxCrossEntropy => functional::cross_entropy(y, t),
            Loss::MeanSquaredError => functional::mse_loss(y, t),
        }
    }
}

/// Class labels as one-hot rows `[labels.len(), classes]`. Fails on a
/// label outside `0..classes`, or a result of 2^32 elements or more (larger
/// than any tensor can be).
pub fn one_hot(labels: &[usize], classes: usize) -> Result<Vec<f32>, Error> {
    let len = labels
        .len()
        .checked_mul(classes)
        .filter(|&len| len <= u32::MAX as usize)
        .ok_or_else(|| Error::TooLarge {
            op: "one_hot",
            what: format!("{} rows of {classes} classes", labels.len()),
        })?;
    let mut out = vec![0.0; len];
    for (row, &label) in labels.iter().enumerate() {
        if label >= classes {
            return Err(Error::InvalidParam {
                op: "one_hot",
                param: "labels",
                message: format!(
                    "label {label} at row {row} is not below the class count {classes}"
                ),
            });
        }
        out[row * classes + label] = 1.0;
    }
    Ok(out)
}

/// Index of the largest value of each row of a row-major `[rows, cols]`
/// array (the first on ties): the predicted classes.
pub fn argmax_rows(values: &[f32], cols: usize) -> Vec<usize> {
    values
        .chunks(cols.max(1))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
}
