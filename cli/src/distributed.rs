//! `wgconv train --distributed`: one rank of an MPI job (cargo feature
//! `mpi`, off by default). Every rank opens its own adapter, picked by its
//! local rank on the machine, builds the same model and joins a
//! [`DataParallel`] whose [`Collective`] is the MPI world: rank 0's weights
//! are broadcast at the start, every step gathers the ranks' gradients on
//! rank 0 in rank order (MPI's own reductions do not fix their order, so
//! the sum is wgconv's), rank 0 steps and broadcasts the weights. Rank 0
//! alone prints, writes metrics, plots and checkpoints.
//!
//! MPI errors are fatal (rsmpi's MPI_ERRORS_ARE_FATAL): the job ends. A
//! rank whose training fails, or panics, calls MPI_Abort, so mpirun ends
//! every rank instead of leaving them waiting in a collective.

use super::train::{train_on, TrainArgs};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::process::ExitCode;
use wgconv::nn::{Collective, DataParallel};
use wgconv::train::{Preset, TrainConfig};
use wgconv::{Error, Gpu};

struct MpiWorld {
    world: SimpleCommunicator,
}

impl Collective for MpiWorld {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn gather(&self, local: &[f32]) -> Result<Vec<f32>, Error> {
        let root = self.world.process_at_rank(0);
        if self.world.rank() == 0 {
            let mut out = vec![0.0f32; local.len() * self.size()];
            root.gather_into_root(local, &mut out[..]);
            Ok(out)
        } else {
            root.gather_into(local);
            Ok(Vec::new())
        }
    }
    fn broadcast(&self, buf: &mut [f32]) -> Result<(), Error> {
        self.world.process_at_rank(0).broadcast_into(buf);
        Ok(())
    }
    fn broadcast_u64(&self, buf: &mut [u64]) -> Result<(), Error> {
        self.world.process_at_rank(0).broadcast_into(buf);
        Ok(())
    }
    fn all_gather_u64(&self, value: u64) -> Result<Vec<u64>, Error> {
        let mut out = vec![0u64; self.size()];
        self.world.all_gather_into(&value, &mut out[..]);
        Ok(out)
    }
}

/// This process's index among the ranks on its machine, as the launchers
/// set it (Open MPI, MPICH/Hydra, Slurm).
fn local_rank() -> Option<usize> {
    [
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "MPI_LOCALRANKID",
        "SLURM_LOCALID",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.parse().ok())
}

/// FNV-1a of the settings every rank must share.
fn settings_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn run(
    args: &TrainArgs,
    cfg: &TrainConfig,
    preset: Preset,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let universe = mpi::initialize().ok_or("MPI was initialised twice")?;
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        hook(info);
        eprintln!("wgconv rank {rank} of {size}: panicked; aborting every rank");
        SimpleCommunicator::world().abort(101)
    }));
    let result = (|| -> Result<ExitCode, Box<dyn std::error::Error>> {
        let group = MpiWorld {
            world: SimpleCommunicator::world(),
        };
        // Ranks started with different settings would exchange buffers of
        // different sizes: refuse before the first collective that moves data.
        let settings = format!(
            "{cfg:?} {preset:?} {:?} {:?} {:?}",
            args.limit, args.data_args.data_path, args.epochs
        );
        let hashes = group.all_gather_u64(settings_hash(&settings))?;
        let odd: Vec<usize> = (0..size).filter(|&r| hashes[r] != hashes[0]).collect();
        if !odd.is_empty() {
            return Err(Error::Distributed {
                message: format!(
                    "rank(s) {odd:?} were started with other settings than rank 0: give \
                     every rank the same command line"
                ),
            }
            .into());
        }
        let mut all = Gpu::all_matching(&args.adapter)?;
        let local = local_rank().unwrap_or(rank);
        let gpu = all.swap_remove(local % all.len());
        drop(all);
        println!("rank {rank} of {size}: {}", gpu.describe());
        train_on(rank == 0, args, cfg, |shape, classes| {
            let model = preset.build_for(gpu.clone(), cfg.seed, shape, classes)?;
            let dp = DataParallel::new(vec![(gpu.clone(), model)], Some(Box::new(group)))?;
            let describe = format!("{size} MPI ranks (rank 0: {})", gpu.describe());
            Ok((dp, describe))
        })
    })();
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("wgconv rank {rank} of {size}: {e}; aborting every rank");
            world.abort(1)
        }
    }
}
