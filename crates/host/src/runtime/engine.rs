//! Engine policy: the one place that decides how guests are compiled,
//! allocated and interrupted.
//!
//! - One [`wasmtime::Engine`] per process, built once.
//! - The pooling instance allocator, so a request's instance reuses
//!   pre-reserved, copy-on-write memory slots (instantiation in microseconds).
//!   Reserving those slots needs a lot of virtual address space; when the
//!   process has little (a `ulimit -v`, say), the engine falls back to
//!   on-demand allocation with small memory reservations rather than
//!   failing.
//! - Epoch interruption with a ticker thread: compiled code checks the epoch
//!   at loop heads and calls, so a guest in a busy loop reaches the store's
//!   epoch callback every tick, where it yields to the async executor or is
//!   stopped at its deadline ([`crate::runtime::state`]).

use std::time::Duration;

use anyhow::Context as _;
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

/// How often the epoch advances. Bounds how late a deadline can fire and how
/// long a busy guest can hold a worker thread before yielding.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Instances that may exist at once with the pooling allocator. Each HTTP
/// request and each service-chaining hop holds one while it runs.
const POOLED_INSTANCES: u32 = 1000;

/// Bytes of a freed memory slot reset in place rather than decommitted.
const KEEP_RESIDENT: usize = 8 << 20;

/// Which instance allocator the engine ended up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocatorKind {
    /// Pre-reserved slots.
    Pooling,
    /// `mmap` per instance.
    OnDemand,
}

/// Builds the engine. `max_memory` caps each linear memory of a guest.
pub fn build_engine(max_memory: usize) -> anyhow::Result<(Engine, AllocatorKind)> {
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
        max_memory,
    )));
    match Engine::new(&config) {
        Ok(engine) => Ok((engine, AllocatorKind::Pooling)),
        Err(err) => {
            tracing::warn!(
                "pooling allocator unavailable ({err}); falling back to on-demand allocation"
            );
            let mut config = base_config();
            // Short of address space, memories cannot each reserve their
            // 4 GiB either: use small, growable reservations with explicit
            // bounds checks instead of guard regions.
            config
                .allocation_strategy(InstanceAllocationStrategy::OnDemand)
                .memory_reservation(0)
                .memory_guard_size(0)
                .memory_reservation_for_growth(16 << 20);
            let engine = Engine::new(&config)
                .map_err(anyhow::Error::from)
                .context("while creating the wasmtime engine")?;
            Ok((engine, AllocatorKind::OnDemand))
        }
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .wasm_component_model(true)
        .cranelift_opt_level(OptLevel::Speed)
        .memory_init_cow(true)
        .parallel_compilation(true);
    config
}

fn pooling_config(max_memory: usize) -> PoolingAllocationConfig {
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(POOLED_INSTANCES)
        // A Rust component has one main module plus a few small shims.
        .total_core_instances(POOLED_INSTANCES * 4)
        .total_memories(POOLED_INSTANCES)
        .total_tables(POOLED_INSTANCES * 4)
        .total_stacks(POOLED_INSTANCES)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_memory_size(max_memory)
        // Keep up to this many freed slots warm (still mapped) for reuse.
        .max_unused_warm_slots(100)
        // Reset a freed slot by zeroing only its dirty pages (found with the
        // PAGEMAP_SCAN ioctl where the kernel has it) instead of `madvise`:
        // unmapping pages costs a TLB shootdown on every core, which
        // dominated request cost when measured. Larger memories are still
        // decommitted, in batches.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT / 8)
        .decommit_batch_size(32);
    pooling
}

/// Starts the thread that advances the engine's epoch every [`EPOCH_TICK`].
/// It runs for the life of the process.
pub fn start_epoch_ticker(engine: &Engine) -> anyhow::Result<()> {
    let engine = engine.clone();
    std::thread::Builder::new()
        .name("llmos-epoch".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .context("while starting the epoch ticker thread")?;
    Ok(())
}
