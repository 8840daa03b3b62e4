//! A training step and a prediction, as a training loop runs them: the
//! pieces of [`super::graph`], [`super::Loss`] and [`super::Optimizer`] in
//! their order, as one submission on a GPU.

use super::{Backend, Forward, Graph, Loss, ModuleExt, Optimizer};
use crate::Error;

/// One training step on a batch: zero the gradients, forward, loss,
/// backward, optimizer step — recorded as one batch of GPU work (one
/// submission). With `report_loss` the batch's loss (before the update)
/// is read back; otherwise nothing is read back and the step does not
/// wait for the GPU.
pub fn train_step<B: Backend, M: Forward<B> + ?Sized>(
    b: &B,
    model: &mut M,
    x: &B::Tensor,
    targets: &B::Tensor,
    loss: Loss,
    optimizer: &mut Optimizer<B>,
    report_loss: bool,
) -> Result<Option<f32>, Error> {
    match train_step_deferred(b, model, x, targets, loss, optimizer, report_loss)? {
        Some(t) => Ok(b.to_vec(&t)?.first().copied()),
        None => Ok(None),
    }
}

/// [`train_step`] that hands back the loss as a 1-element tensor instead
/// of reading it: nothing waits for the device (a browser reads it with
/// `Tensor::to_vec_async`).
pub fn train_step_deferred<B: Backend, M: Forward<B> + ?Sized>(
    b: &B,
    model: &mut M,
    x: &B::Tensor,
    targets: &B::Tensor,
    loss: Loss,
    optimizer: &mut Optimizer<B>,
    report_loss: bool,
) -> Result<Option<B::Tensor>, Error> {
    b.record(|| {
        model.zero_grad();
        let g = Graph::new(b.clone());
        let y = model.forward(&g.input(x.clone()))?;
        b.push_scope("loss", "");
        let l = loss.forward(&y, &g.input(targets.clone()));
        b.pop_scope();
        let l = l?;
        l.backward()?;
        b.push_scope("optimizer", "");
        let stepped = optimizer.step(b, model);
        b.pop_scope();
        stepped?;
        Ok(report_loss.then(|| l.value().clone()))
    })
}

/// The model's output for `x` in its current mode, recording nothing
/// (torch's `with torch.no_grad(): model(x)`; call `eval()` first for
/// inference).
pub fn predict<B: Backend, M: Forward<B> + ?Sized>(
    b: &B,
    model: &mut M,
    x: &B::Tensor,
) -> Result<B::Tensor, Error> {
    let g = Graph::no_grad(b.clone());
    Ok(model.forward(&g.input(x.clone()))?.value().clone())
}
