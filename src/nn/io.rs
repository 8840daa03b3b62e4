//! Saving and loading models and training checkpoints as safetensors: the
//! named-tensor format that PyTorch (`safetensors.torch`), candle and burn
//! read. A model file is the model's `state_dict` under PyTorch's names
//! (the paths of [`super::Module`]: `"0.weight"`, `"layer1.0.conv1.weight"`,
//! `"1.num_batches_tracked"` as a 0-d i64, ...), so
//! `safetensors.torch.save_file(model.state_dict(), path)` from the same
//! torch module tree loads here, and back. A checkpoint adds the
//! optimizer's state and the modules' extra state (dropout seeds and call
//! counts). Values are little-endian f32 and a load restores them bit for
//! bit; every file is written to a temporary name and then renamed, so a
//! crash never leaves a torn file.
//!
//! A load is all or nothing: the whole file is checked against the model
//! (every key, dtype and shape) and uploaded before the first entry of the
//! model changes, so a failed load leaves the model as it was.

use super::{
    walk, walk_mut, Backend, Entry, EntryMut, Module, ModuleExt, Optimizer, OptimizerState,
};
use crate::Error;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

pub(crate) fn file_error(path: &Path, message: impl std::fmt::Display) -> Error {
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

/// The model's `state_dict`: parameters, float buffers and counts with
/// their PyTorch names, read back to the host, in `visit` order.
pub fn state_dict<B: Backend, M: Module<B> + ?Sized>(
    b: &B,
    model: &M,
) -> Result<Vec<(String, HostTensor)>, Error> {
    let mut entries: Vec<(String, Entry<'_, B>)> = Vec::new();
    walk(model, |name, e| entries.push((name, e)));
    let mut out = Vec::new();
    for (name, e) in entries {
        let t = match e {
            Entry::Param(p) => p.value(),
            Entry::Buffer(t) => t,
            Entry::Count(c) => {
                out.push((name, HostTensor::Count(c)));
                continue;
            }
            Entry::Extra(_) | Entry::Training(_) => continue,
        };
        out.push((name, HostTensor::F32(b.shape(t).to_vec(), b.to_vec(t)?)));
    }
    Ok(out)
}

/// Writes `bytes` to `path` through a temporary file in the same folder
/// (flushed to disk, renamed over `path`, then the folder flushed so the
/// rename itself survives a crash), so readers see the old file or the new
/// one, never part of one. Each call has its own temporary file
/// (`.NAME.tmpPID-N`), so threads saving the same path at once each land
/// whole, the last rename winning. Temporary files that killed writers left
/// in the folder (those of a process that is gone) are removed first.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let name = path
        .file_name()
        .ok_or_else(|| file_error(path, "not a file name"))?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    remove_stale_temporaries(folder);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tmp_name.push(format!("{TMP}{}-{call}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_folder(folder)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        file_error(path, e)
    })
}

/// The infix of a temporary file's name, before the writer's process id
/// and its call number.
const TMP: &str = ".tmp";

/// Flushes a folder's entries (the rename) to disk where the system allows
/// opening a folder (Unix); elsewhere the rename is as durable as the
/// system makes it.
fn sync_folder(folder: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(folder)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = folder;
        Ok(())
    }
}

/// Removes `.NAME.tmpPID-N` files of writers that no longer run (checked in
/// /proc on Linux; elsewhere nothing is removed, since a live writer's file
/// must not be). Best effort: a file that cannot be removed stays.
fn remove_stale_temporaries(folder: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let pid = name
            .strip_prefix('.')
            .and_then(|n| n.rsplit_once(TMP))
            .and_then(|(_, tail)| tail.split('-').next()?.parse::<u32>().ok());
        if let Some(pid) = pid {
            let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
            if !alive {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
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
    let mut info: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let sums: std::collections::BTreeMap<&str, String> = raw
        .iter()
        .map(|(name, _, _, bytes)| (name.as_str(), format!("{:08x}", crc32(bytes))))
        .collect();
    info.insert(
        CHECKSUMS.to_string(),
        serde_json::to_string(&sums).map_err(|e| file_error(path, e))?,
    );
    info.insert(
        META_CHECKSUM.to_string(),
        format!("{:08x}", metadata_checksum(&info)),
    );
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

/// The header key of every tensor's CRC-32 (a JSON object of name → 8
/// hex digits), and of the CRC-32 of the rest of the metadata.
const CHECKSUMS: &str = "wgconv.checksums";
const META_CHECKSUM: &str = "wgconv.checksum.metadata";

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// CRC-32 of every metadata entry but [`META_CHECKSUM`], in key order
/// (`key NUL value NUL`).
fn metadata_checksum(metadata: &HashMap<String, String>) -> u32 {
    let mut keys: Vec<&String> = metadata.keys().filter(|k| *k != META_CHECKSUM).collect();
    keys.sort();
    let mut crc = flate2::Crc::new();
    for k in keys {
        crc.update(k.as_bytes());
        crc.update(&[0]);
        crc.update(metadata[k].as_bytes());
        crc.update(&[0]);
    }
    crc.sum()
}

/// Checks the checksums wgconv writes into every file: each tensor's
/// bytes, and the metadata. A file without them (PyTorch's) passes; one
/// with them must match everywhere.
fn verify_checksums(
    path: &Path,
    file: &SafeTensors<'_>,
    metadata: &HashMap<String, String>,
) -> Result<(), Error> {
    let damaged = |what: String| {
        file_error(
            path,
            format!("{what} fails its checksum: the file is damaged (a flipped bit, or an edit)"),
        )
    };
    match (metadata.get(META_CHECKSUM), metadata.get(CHECKSUMS)) {
        (None, None) => return Ok(()),
        (Some(sum), _) if *sum != format!("{:08x}", metadata_checksum(metadata)) => {
            return Err(damaged("the metadata".into()))
        }
        (None, Some(_)) | (Some(_), None) => return Err(damaged("the metadata".into())),
        _ => {}
    }
    let sums: HashMap<String, String> = metadata
        .get(CHECKSUMS)
        .map(|s| serde_json::from_str(s))
        .transpose()
        .map_err(|_| damaged("the metadata".into()))?
        .unwrap_or_default();
    let mut names = 0;
    for (name, view) in file.tensors() {
        names += 1;
        match sums.get(&name) {
            Some(sum) if *sum == format!("{:08x}", crc32(view.data())) => {}
            _ => return Err(damaged(format!("tensor {name}"))),
        }
    }
    if sums.len() != names {
        return Err(damaged("the list of tensors".into()));
    }
    Ok(())
}

/// A safetensors file's tensors by name, and its metadata.
pub type FileContents = (HashMap<String, HostTensor>, HashMap<String, String>);

/// Every tensor of a safetensors file, and its metadata.
pub fn read_tensors(path: &Path) -> Result<FileContents, Error> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| file_error(path, e))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| file_error(path, e))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    verify_checksums(path, &file, &metadata)?;
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
    Ok((out, metadata))
}

/// Writes the model's `state_dict` to `path`, with `metadata` in the file
/// header (free-form strings, e.g. the architecture).
pub fn save<B: Backend, M: Module<B> + ?Sized>(
    b: &B,
    model: &M,
    path: &Path,
    metadata: &[(&str, String)],
) -> Result<(), Error> {
    let bytes = serialize(path, &state_dict(b, model)?, metadata)?;
    write_atomically(path, &bytes)
}

/// Writes named host tensors (any `state_dict`, e.g. one read with
/// [`read_tensors`] and edited) to `path`, atomically, with `metadata`.
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, HostTensor)],
    metadata: &[(&str, String)],
) -> Result<(), Error> {
    write_atomically(path, &serialize(path, tensors, metadata)?)
}

/// What a non-strict load left out (torch's `load_state_dict(strict=False)`
/// result): the model's entries the file lacks, and the file's entries
/// the model lacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
}

/// Loads the model's `state_dict` from `path`, strictly (torch's
/// default): every parameter and buffer must be in the file as f32 with
/// the model's shape, every count as a 0-d i64, and nothing else may be
/// (so a file of another architecture is caught). Returns the metadata.
/// All or nothing: on any error the model is unchanged.
pub fn load<B: Backend, M: Module<B> + ?Sized>(
    b: &B,
    model: &mut M,
    path: &Path,
) -> Result<HashMap<String, String>, Error> {
    let (tensors, metadata) = read_tensors(path)?;
    let staged = stage(b, model, &tensors, "", true, path)?;
    staged.commit(model);
    Ok(metadata)
}

/// [`load`] with torch's `strict` flag: with `strict: false` the keys the
/// file lacks keep the model's values and the file's other keys are
/// ignored, both listed in the report. A key present in both must still
/// match in dtype and shape.
pub fn load_with<B: Backend, M: Module<B> + ?Sized>(
    b: &B,
    model: &mut M,
    path: &Path,
    strict: bool,
) -> Result<(HashMap<String, String>, LoadReport), Error> {
    let (tensors, metadata) = read_tensors(path)?;
    let staged = stage(b, model, &tensors, "", strict, path)?;
    let report = staged.report.clone();
    staged.commit(model);
    Ok((metadata, report))
}

/// A `state_dict` checked against a model and uploaded, in `visit` order,
/// ready to replace the model's entries.
struct Staged<B: Backend> {
    /// One per entry in visit order: the new value, or None to keep it.
    values: Vec<Option<Staging<B>>>,
    report: LoadReport,
}

enum Staging<B: Backend> {
    Tensor(B::Tensor),
    Count(u64),
}

impl<B: Backend> Staged<B> {
    /// Writes the staged values into `model` (host-side handle swaps only:
    /// nothing here can fail).
    fn commit<M: Module<B> + ?Sized>(self, model: &mut M) {
        let mut values = self.values.into_iter();
        walk_mut(model, |_, e| {
            let slot = match e {
                EntryMut::Param(_) | EntryMut::Buffer(_) | EntryMut::Count(_) => values.next(),
                EntryMut::Extra(_) | EntryMut::Training(_) => return,
            };
            match (e, slot.flatten()) {
                (EntryMut::Param(p), Some(Staging::Tensor(t))) => p.set_value(t),
                (EntryMut::Buffer(slot), Some(Staging::Tensor(t))) => *slot = t,
                (EntryMut::Count(slot), Some(Staging::Count(n))) => *slot = n,
                _ => {}
            }
        });
    }
}

/// Checks `tensors` (keys under `prefix`) against every entry of `model`
/// and uploads them, changing nothing in the model: the first half of a
/// load. Names the first key that is missing (strict), of the wrong dtype
/// or shape, or (strict) left over.
fn stage<B: Backend, M: Module<B> + ?Sized>(
    b: &B,
    model: &M,
    tensors: &HashMap<String, HostTensor>,
    prefix: &str,
    strict: bool,
    path: &Path,
) -> Result<Staged<B>, Error> {
    let mut wanted: Vec<(String, Option<Vec<usize>>)> = Vec::new();
    walk(model, |name, e| match e {
        Entry::Param(p) => wanted.push((name, Some(b.shape(p.value()).to_vec()))),
        Entry::Buffer(t) => wanted.push((name, Some(b.shape(t).to_vec()))),
        Entry::Count(_) => wanted.push((name, None)),
        Entry::Extra(_) | Entry::Training(_) => {}
    });
    let mut report = LoadReport::default();
    let mut values = Vec::with_capacity(wanted.len());
    for (name, shape) in &wanted {
        let value = match (tensors.get(&format!("{prefix}{name}")), shape) {
            (None, _) if strict => return Err(file_error(path, format!("{name} is missing"))),
            (None, _) => {
                report.missing.push(name.clone());
                None
            }
            (Some(HostTensor::F32(s, v)), Some(shape)) if s == shape => {
                check_values(path, name, v)?;
                Some(Staging::Tensor(b.tensor(shape, v)?))
            }
            (Some(HostTensor::F32(s, _)), Some(shape)) => {
                return Err(file_error(
                    path,
                    format!("{name} is F32 {s:?}, the model needs F32 {shape:?}"),
                ))
            }
            (Some(HostTensor::Count(_)), Some(shape)) => {
                return Err(file_error(
                    path,
                    format!("{name} is an I64 count, the model needs F32 {shape:?}"),
                ))
            }
            (Some(HostTensor::Count(n)), None) => Some(Staging::Count(*n)),
            (Some(HostTensor::F32(..)), None) => {
                return Err(file_error(path, format!("{name} must be a 0-d I64")))
            }
        };
        values.push(value);
    }
    let mut extra: Vec<String> = tensors
        .keys()
        .filter_map(|k| k.strip_prefix(prefix))
        .filter(|k| !wanted.iter().any(|(n, _)| n == k))
        .map(str::to_string)
        .collect();
    extra.sort();
    if strict {
        if let Some(first) = extra.first() {
            return Err(file_error(
                path,
                format!(
                    "holds {} tensor(s) the model does not have, such as {first}",
                    extra.len()
                ),
            ));
        }
    }
    report.unexpected = extra;
    Ok(Staged { values, report })
}

/// What torch needs of a loaded value: finite everywhere, and a running
/// variance (or Adam's second moment) never below 0. Names the first bad
/// element.
fn check_values(path: &Path, name: &str, v: &[f32]) -> Result<(), Error> {
    let non_negative = name.ends_with("running_var") || name.ends_with("exp_avg_sq");
    let bad = v
        .iter()
        .position(|x| !x.is_finite() || (non_negative && *x < 0.0));
    match bad {
        None => Ok(()),
        Some(i) => Err(file_error(
            path,
            format!(
                "{name}[{i}] is {}, which {}",
                v[i],
                if non_negative {
                    "a variance cannot be (it must be finite and at least 0)"
                } else {
                    "a model cannot hold (values must be finite)"
                }
            ),
        )),
    }
}

const MODEL: &str = "model.";
const OPTIMIZER: &str = "optimizer.";
const EXTRA: &str = "wgconv.extra";

/// Writes a training checkpoint: the model's `state_dict` under `model.`,
/// the optimizer's state ([`Optimizer::state`]) under `optimizer.`, the
/// modules' extra state (dropout seeds and call counts: they fix every
/// dropout mask) and `metadata` (the caller's: epoch, data-order RNG,
/// ...). Atomic.
pub fn save_checkpoint<B: Backend, M: Module<B> + ?Sized>(
    b: &B,
    path: &Path,
    model: &M,
    optimizer: &Optimizer<B>,
    metadata: &[(&str, String)],
) -> Result<(), Error> {
    let mut tensors: Vec<(String, HostTensor)> = state_dict(b, model)?
        .into_iter()
        .map(|(n, t)| (format!("{MODEL}{n}"), t))
        .collect();
    let state = optimizer.state(b, model)?;
    for (n, shape, v) in state.tensors {
        tensors.push((format!("{OPTIMIZER}{n}"), HostTensor::F32(shape, v)));
    }
    for (n, step) in state.steps {
        tensors.push((format!("{OPTIMIZER}{n}"), HostTensor::Count(step)));
    }
    let extras: BTreeMap<String, u64> = model.named_extras().into_iter().collect();
    let mut meta = metadata.to_vec();
    meta.push((
        EXTRA,
        serde_json::to_string(&extras).map_err(|e| file_error(path, e))?,
    ));
    meta.push(("wgconv.optimizer", format!("{:?}", optimizer.config())));
    let bytes = serialize(path, &tensors, &meta)?;
    write_atomically(path, &bytes)
}

/// Restores a checkpoint of [`save_checkpoint`] into `model` and
/// `optimizer` (built as they were for the run) and returns its metadata.
/// Fails, naming the problem, on a file of another model or optimizer, a
/// torn or corrupt file, or a missing entry; nothing is changed then.
pub fn load_checkpoint<B: Backend, M: Module<B> + ?Sized>(
    b: &B,
    path: &Path,
    model: &mut M,
    optimizer: &mut Optimizer<B>,
) -> Result<HashMap<String, String>, Error> {
    let (tensors, metadata) = read_tensors(path)?;
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
    let extras: BTreeMap<String, u64> = metadata
        .get(EXTRA)
        .ok_or_else(|| file_error(path, format!("not a wgconv checkpoint (no {EXTRA})")))
        .and_then(|v| {
            serde_json::from_str(v).map_err(|e| file_error(path, format!("{EXTRA}: {e}")))
        })?;
    let ours_extra = model.named_extras();
    for (name, _) in &ours_extra {
        if !extras.contains_key(name) {
            return Err(file_error(path, format!("{EXTRA} lacks {name}")));
        }
    }
    if let Some(name) = extras
        .keys()
        .find(|k| !ours_extra.iter().any(|(n, _)| n == *k))
    {
        return Err(file_error(
            path,
            format!("{EXTRA} holds {name}, which belongs to no part of this model"),
        ));
    }
    let mut state = OptimizerState::default();
    let mut model_tensors = HashMap::new();
    for (name, t) in tensors {
        if let Some(rest) = name.strip_prefix(OPTIMIZER) {
            match t {
                HostTensor::F32(s, v) => {
                    check_values(path, &name, &v)?;
                    state.tensors.push((rest.to_string(), s, v))
                }
                HostTensor::Count(n) => state.steps.push((rest.to_string(), n)),
            }
        } else if name.starts_with(MODEL) {
            model_tensors.insert(name, t);
        } else {
            return Err(file_error(
                path,
                format!("{name} belongs to no part of this model"),
            ));
        }
    }
    state.tensors.sort_by(|a, b| a.0.cmp(&b.0));
    state.steps.sort();
    // Check and upload everything first, so a bad file changes nothing.
    let staged = stage(b, model, &model_tensors, MODEL, true, path)?;
    let mut opt = optimizer.clone();
    opt.load_state(b, model, &state)
        .map_err(|e| file_error(path, e))?;
    staged.commit(model);
    walk_mut(model, |name, e| {
        if let EntryMut::Extra(v) = e {
            if let Some(saved) = extras.get(&name) {
                *v = *saved;
            }
        }
    });
    *optimizer = opt;
    Ok(metadata)
}

/// "Adam" of "Adam(Adam { lr: ... })": the update rule, without the
/// hyper-parameters (a schedule changes the rate).
fn kind_of(config: &str) -> &str {
    config.split('(').next().unwrap_or(config)
}
