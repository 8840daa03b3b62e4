//! Saving and loading models and training checkpoints as safetensors: the
//! named-tensor format that PyTorch (`safetensors.torch`), candle and burn
//! read. A model file is the model's `state_dict` under PyTorch's names
//! ("0.weight", "1.running_mean", "1.num_batches_tracked" as a 0-d i64,
//! ...), so `safetensors.torch.save_file(model.state_dict(), path)` from
//! the same torch module tree loads here, and back. A checkpoint adds the
//! optimizer's state. Values are little-endian f32 and a load restores
//! them bit for bit; every file is written to a temporary name and then
//! renamed, so a crash never leaves a torn file.

use super::{Backend, Optimizer, OptimizerState, Sequential};
use crate::Error;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

fn file_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::ModelFile {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// One tensor of a file, as held on the host.
#[derive(Debug, Clone, PartialEq)]
pub enum HostTensor {
    F32(Vec<usize>, Vec<f32>),
    /// A 0-d int64 (torch's `num_batches_tracked`, Adam's step).
    Count(u64),
}

impl HostTensor {
    fn bytes(&self) -> (Dtype, Vec<usize>, Vec<u8>) {
        match self {
            HostTensor::F32(shape, v) => (
                Dtype::F32,
                shape.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            HostTensor::Count(n) => (Dtype::I64, vec![], (*n as i64).to_le_bytes().to_vec()),
        }
    }
}

/// The model's `state_dict`: parameters, float buffers and batch counts
/// with their PyTorch names, read back to the host.
pub fn state_dict<B: Backend>(model: &Sequential<B>) -> Result<Vec<(String, HostTensor)>, Error> {
    let b = model.backend();
    let mut out = Vec::new();
    let tensors = model
        .parameters()
        .into_iter()
        .map(|(n, p)| (n, &p.value))
        .chain(model.buffers());
    for (name, t) in tensors {
        out.push((name, HostTensor::F32(b.shape(t).to_vec(), b.to_vec(t)?)));
    }
    for (name, n) in model.batch_counts() {
        out.push((name, HostTensor::Count(n)));
    }
    Ok(out)
}

/// Writes `bytes` to `path` through a temporary file in the same folder
/// (flushed to disk, then renamed over `path`), so readers see the old
/// file or the new one, never part of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let name = path
        .file_name()
        .ok_or_else(|| file_error(path, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        file_error(path, e)
    })
}

fn serialize(
    path: &Path,
    tensors: &[(String, HostTensor)],
    metadata: &[(&str, String)],
) -> Result<Vec<u8>, Error> {
    let raw: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, t)| {
            let (d, s, b) = t.bytes();
            (n.clone(), d, s, b)
        })
        .collect();
    let views = raw
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| file_error(path, e))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let info: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let bytes = safetensors::serialize(views, Some(info)).map_err(|e| file_error(path, e))?;
    canonical_header(&bytes).map_err(|e| file_error(path, e))
}

/// The same file with its JSON header's keys sorted. safetensors writes
/// the metadata in a `HashMap`'s order, which changes from process to
/// process, so the same model saved twice would differ in bytes. The
/// header is re-written through serde_json's sorted maps and padded with
/// spaces to a multiple of 8 bytes, as safetensors pads it; the tensor
/// data, addressed relative to the header's end, is unchanged.
fn canonical_header(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize)
        .ok_or("no header")?;
    let header = bytes.get(8..8 + len).ok_or("truncated header")?;
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let mut text = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - len);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + len..]);
    Ok(out)
}

/// A safetensors file's tensors by name, and its metadata.
pub type FileContents = (HashMap<String, HostTensor>, HashMap<String, String>);

/// Every tensor of a safetensors file, and its metadata.
pub fn read_tensors(path: &Path) -> Result<FileContents, Error> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| file_error(path, e))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| file_error(path, e))?;
    let mut out = HashMap::new();
    for (name, view) in file.tensors() {
        let t = match view.dtype() {
            Dtype::F32 => HostTensor::F32(
                view.shape().to_vec(),
                view.data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            Dtype::I64 if view.data().len() == 8 => {
                let v = i64::from_le_bytes(view.data().try_into().unwrap_or([0; 8]));
                HostTensor::Count(u64::try_from(v).map_err(|_| {
                    file_error(path, format!("{name} is {v}, a count cannot be negative"))
                })?)
            }
            d => {
                return Err(file_error(
                    path,
                    format!(
                        "{name} is {d:?} {:?}; wgconv reads F32 tensors and 0-d I64 counts",
                        view.shape()
                    ),
                ))
            }
        };
        out.insert(name, t);
    }
    Ok((out, header.metadata().clone().unwrap_or_default()))
}

/// Writes the model's `state_dict` to `path`, with `metadata` in the file
/// header (free-form strings, e.g. the architecture).
pub fn save<B: Backend>(
    model: &Sequential<B>,
    path: &Path,
    metadata: &[(&str, String)],
) -> Result<(), Error> {
    let bytes = serialize(path, &state_dict(model)?, metadata)?;
    write_atomically(path, &bytes)
}

/// Loads the model's `state_dict` from `path`: every parameter and buffer
/// must be in the file as f32 with the model's shape, every batch count as
/// a 0-d i64, and nothing else may be (so a file of another architecture
/// is caught). Returns the metadata.
pub fn load<B: Backend>(
    model: &mut Sequential<B>,
    path: &Path,
) -> Result<HashMap<String, String>, Error> {
    let (mut tensors, metadata) = read_tensors(path)?;
    restore_model(model, &mut tensors, "", path)?;
    if let Some(extra) = sorted_keys(&tensors).first() {
        return Err(file_error(
            path,
            format!(
                "holds {} tensor(s) the model does not have, such as {extra}",
                tensors.len()
            ),
        ));
    }
    Ok(metadata)
}

fn sorted_keys<V>(m: &HashMap<String, V>) -> Vec<String> {
    let mut keys: Vec<String> = m.keys().cloned().collect();
    keys.sort();
    keys
}

/// Takes the model's entries (names under `prefix`) out of `tensors` and
/// sets them, after checking them all.
fn restore_model<B: Backend>(
    model: &mut Sequential<B>,
    tensors: &mut HashMap<String, HostTensor>,
    prefix: &str,
    path: &Path,
) -> Result<(), Error> {
    let b = model.backend().clone();
    let mut take_f32 = |name: &str, shape: &[usize]| -> Result<Vec<f32>, Error> {
        match tensors.remove(&format!("{prefix}{name}")) {
            Some(HostTensor::F32(s, v)) if s == shape => Ok(v),
            Some(HostTensor::F32(s, _)) => Err(file_error(
                path,
                format!("{name} is F32 {s:?}, the model needs F32 {shape:?}"),
            )),
            Some(HostTensor::Count(_)) => Err(file_error(
                path,
                format!("{name} is an I64 count, the model needs F32 {shape:?}"),
            )),
            None => Err(file_error(path, format!("{name} is missing"))),
        }
    };
    let mut values = Vec::new();
    for (name, p) in model.parameters() {
        values.push(take_f32(&name, b.shape(&p.value))?);
    }
    let mut buffer_values = Vec::new();
    for (name, t) in model.buffers() {
        buffer_values.push(take_f32(&name, b.shape(t))?);
    }
    let mut counts = Vec::new();
    for (name, _) in model.batch_counts() {
        match tensors.remove(&format!("{prefix}{name}")) {
            Some(HostTensor::Count(n)) => counts.push((name, n)),
            Some(_) => return Err(file_error(path, format!("{name} must be a 0-d I64"))),
            None => return Err(file_error(path, format!("{name} is missing"))),
        }
    }
    for ((_, p), v) in model.parameters_mut().into_iter().zip(values) {
        let shape = b.shape(&p.value).to_vec();
        p.value = b.tensor(&shape, &v)?;
        p.grad = None;
    }
    for ((_, t), v) in model.buffers_mut().into_iter().zip(buffer_values) {
        let shape = b.shape(t).to_vec();
        *t = b.tensor(&shape, &v)?;
    }
    for (name, n) in counts {
        model.set_batch_count(&name, n);
    }
    Ok(())
}

const MODEL: &str = "model.";
const OPTIMIZER: &str = "optimizer.";

/// Writes a training checkpoint: the model's `state_dict` under `model.`,
/// the optimizer's state ([`Optimizer::state`]) under `optimizer.`, the
/// model's training-pass count and dropout seeds (they fix every dropout
/// mask), and
/// `metadata` (the caller's: epoch, data-order RNG, ...). Atomic.
pub fn save_checkpoint<B: Backend>(
    path: &Path,
    model: &Sequential<B>,
    optimizer: &Optimizer<B>,
    metadata: &[(&str, String)],
) -> Result<(), Error> {
    let mut tensors: Vec<(String, HostTensor)> = state_dict(model)?
        .into_iter()
        .map(|(n, t)| (format!("{MODEL}{n}"), t))
        .collect();
    let state = optimizer.state(model)?;
    for (n, shape, v) in state.tensors {
        tensors.push((format!("{OPTIMIZER}{n}"), HostTensor::F32(shape, v)));
    }
    for (n, step) in state.steps {
        tensors.push((format!("{OPTIMIZER}{n}"), HostTensor::Count(step)));
    }
    let mut meta = metadata.to_vec();
    meta.push((
        "wgconv.training_passes",
        model.training_passes().to_string(),
    ));
    let seeds: Vec<String> = model.dropout_seeds().iter().map(u64::to_string).collect();
    meta.push(("wgconv.dropout_seeds", seeds.join(",")));
    meta.push(("wgconv.optimizer", format!("{:?}", optimizer.config())));
    let bytes = serialize(path, &tensors, &meta)?;
    write_atomically(path, &bytes)
}

/// Restores a checkpoint of [`save_checkpoint`] into `model` and
/// `optimizer` (built as they were for the run) and returns its metadata.
/// Fails, naming the problem, on a file of another model or optimizer, a
/// torn or corrupt file, or a missing entry; nothing is changed then.
pub fn load_checkpoint<B: Backend>(
    path: &Path,
    model: &mut Sequential<B>,
    optimizer: &mut Optimizer<B>,
) -> Result<HashMap<String, String>, Error> {
    let (mut tensors, metadata) = read_tensors(path)?;
    let saved_optimizer = metadata
        .get("wgconv.optimizer")
        .cloned()
        .unwrap_or_default();
    let ours = format!("{:?}", optimizer.config());
    if kind_of(&saved_optimizer) != kind_of(&ours) {
        return Err(file_error(
            path,
            format!("a checkpoint of {saved_optimizer}, this run uses {ours}"),
        ));
    }
    let passes: u64 = metadata
        .get("wgconv.training_passes")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| file_error(path, "not a wgconv checkpoint (no wgconv.training_passes)"))?;
    let seeds: Vec<u64> = metadata
        .get("wgconv.dropout_seeds")
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::parse)
                .collect()
        })
        .transpose()
        .map_err(|e| file_error(path, format!("wgconv.dropout_seeds: {e}")))?
        .unwrap_or_default();
    let mut state = OptimizerState::default();
    for name in sorted_keys(&tensors) {
        if let Some(rest) = name.strip_prefix(OPTIMIZER) {
            match tensors.remove(&name) {
                Some(HostTensor::F32(s, v)) => state.tensors.push((rest.to_string(), s, v)),
                Some(HostTensor::Count(n)) => state.steps.push((rest.to_string(), n)),
                None => {}
            }
        }
    }
    // Check everything on a copy, so a bad file changes nothing.
    let mut restored = model.clone();
    restore_model(&mut restored, &mut tensors, MODEL, path)?;
    if let Some(extra) = sorted_keys(&tensors).first() {
        return Err(file_error(
            path,
            format!("{extra} belongs to no part of this model"),
        ));
    }
    let mut opt = optimizer.clone();
    opt.load_state(&restored, &state)
        .map_err(|e| file_error(path, e))?;
    restored.set_training_passes(passes);
    restored
        .set_dropout_seeds(&seeds)
        .map_err(|e| file_error(path, e))?;
    *model = restored;
    *optimizer = opt;
    Ok(metadata)
}

/// "Adam" of "Adam(Adam { lr: ... })": the update rule, without the
/// hyper-parameters (a schedule changes the rate).
fn kind_of(config: &str) -> &str {
    config.split('(').next().unwrap_or(config)
}
