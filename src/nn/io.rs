//! Saving and loading a model's parameters as safetensors: the named-tensor
//! format that candle, burn and PyTorch (`safetensors.torch`) read. Names
//! follow `nn.Sequential`'s `state_dict` ("0.weight", "0.bias", ...), the
//! values are little-endian f32, and a load restores them bit for bit.

use super::{Backend, Sequential};
use crate::Error;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

fn file_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::ModelFile {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Writes every parameter of `model` to `path`, with `metadata` in the
/// file header (free-form strings, e.g. the architecture).
pub fn save<B: Backend>(
    model: &Sequential<B>,
    path: &Path,
    metadata: &[(&str, String)],
) -> Result<(), Error> {
    let b = model.backend();
    let mut tensors = Vec::new();
    for (name, p) in model.parameters() {
        let bytes: Vec<u8> = b
            .to_vec(&p.value)?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        tensors.push((name, b.shape(&p.value).to_vec(), bytes));
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| file_error(path, e))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let info: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let bytes = safetensors::serialize(views, Some(info)).map_err(|e| file_error(path, e))?;
    std::fs::write(path, bytes).map_err(|e| file_error(path, e))
}

/// Loads the parameters of `model` from `path`: every parameter must be in
/// the file as f32 with the model's shape (extra tensors are an error too,
/// so a file of another architecture is caught). Returns the metadata.
pub fn load<B: Backend>(
    model: &mut Sequential<B>,
    path: &Path,
) -> Result<HashMap<String, String>, Error> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| file_error(path, e))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| file_error(path, e))?;
    let b = model.backend().clone();
    let mut params = model.parameters_mut();
    if file.names().len() != params.len() {
        return Err(file_error(
            path,
            format!(
                "holds {} tensors, the model has {} parameters",
                file.names().len(),
                params.len()
            ),
        ));
    }
    for (name, p) in params.iter_mut() {
        let view = file
            .tensor(name)
            .map_err(|e| file_error(path, format!("{name}: {e}")))?;
        let shape = b.shape(&p.value).to_vec();
        if view.dtype() != Dtype::F32 || view.shape() != shape.as_slice() {
            return Err(file_error(
                path,
                format!(
                    "{name} is {:?} {:?}, the model needs F32 {:?}",
                    view.dtype(),
                    view.shape(),
                    shape
                ),
            ));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        p.value = b.tensor(&shape, &values)?;
        p.grad = None;
    }
    Ok(header.metadata().clone().unwrap_or_default())
}
