//! The wasmtime runtime of an app: the engine, the linker with every host
//! interface, one pre-instantiated component per triggered component, and
//! fresh stores with the sandbox limits applied.

pub mod bindings;
pub mod compile_cache;
pub mod engine;
pub mod state;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{WasiHttp, WasiHttpCtx, WasiHttpView as _};

use crate::app::{App, ComponentContext};
use crate::capabilities::Services;
use crate::capabilities::key_value::KeyValueStores;
use crate::capabilities::sqlite::SqliteDatabases;
use crate::outbound::{LocalDispatch, OutboundHooks};
use bindings::cron::SpinCronPre;
use compile_cache::CompileCache;
use engine::AllocatorKind;
use state::{DeadlineExceeded, StoreState};

/// Sandbox limits applied to every instance.
#[derive(Clone, Debug)]
pub struct Limits {
    /// How long one invocation may run.
    pub deadline: Duration,
    /// Largest linear memory of a guest, in bytes.
    pub max_memory: usize,
}

/// One component, ready to instantiate.
pub struct LoadedComponent {
    /// Its configuration.
    pub context: Arc<ComponentContext>,
    /// Its HTTP handler, when an HTTP trigger (or service chaining) uses it.
    pub proxy: Option<ProxyPre<StoreState>>,
    /// Its cron handler, when a cron trigger uses it.
    pub cron: Option<SpinCronPre<StoreState>>,
}

/// The runtime of one app.
pub struct Runtime {
    engine: Engine,
    components: HashMap<String, LoadedComponent>,
    services: Arc<Services>,
    limits: Limits,
    allocator: AllocatorKind,
}

impl Runtime {
    /// Builds the engine and pre-instantiates every component a trigger uses
    /// (only those in `only`, when given).
    pub fn new(
        app: &App,
        limits: Limits,
        cache: &CompileCache,
        only: Option<&[String]>,
    ) -> anyhow::Result<Self> {
        let (engine, allocator) = engine::build_engine(limits.max_memory)?;
        engine::start_epoch_ticker(&engine)?;
        let linker = build_linker(&engine)?;

        let mut components = HashMap::new();
        for (id, http, cron) in app.triggered_components() {
            if only.is_some_and(|only| !only.contains(&id)) {
                continue;
            }
            let context = app.components[&id].clone();
            if !context.source.is_file() {
                anyhow::bail!(
                    "component {id:?}: source {} does not exist (build it with `llmos build`)",
                    context.source.display()
                );
            }
            let component = cache
                .load(&engine, &context.source)
                .with_context(|| format!("while loading component {id:?}"))?;
            let pre = match linker.instantiate_pre(&component) {
                Ok(pre) => pre,
                Err(err) => {
                    // Spin provides interfaces this host does not (LLM,
                    // Redis, Postgres…); a component importing them still
                    // runs, and traps only if it calls them.
                    tracing::warn!(
                        "component {id:?} imports interfaces llmos does not provide; calling them traps: {err}"
                    );
                    let mut lenient = linker.clone();
                    lenient
                        .define_unknown_imports_as_traps(&component)
                        .map_err(anyhow::Error::from)?;
                    lenient
                        .instantiate_pre(&component)
                        .map_err(anyhow::Error::from)
                        .with_context(|| format!("while linking component {id:?}"))?
                }
            };
            let proxy = if http {
                Some(ProxyPre::new(pre.clone()).map_err(anyhow::Error::from).with_context(|| {
                    format!("component {id:?} has an HTTP trigger but does not export wasi:http/incoming-handler@0.2")
                })?)
            } else {
                None
            };
            let cron = if cron {
                Some(SpinCronPre::new(pre).map_err(anyhow::Error::from).with_context(|| {
                    format!("component {id:?} has a cron trigger but does not export handle-cron-event")
                })?)
            } else {
                None
            };
            components.insert(
                id,
                LoadedComponent {
                    context,
                    proxy,
                    cron,
                },
            );
        }

        let services = Arc::new(Services {
            sqlite: SqliteDatabases::new(app.storage.sqlite.clone()),
            key_value: KeyValueStores::new(app.storage.key_value.clone()),
        });
        Ok(Runtime {
            engine,
            components,
            services,
            limits,
            allocator,
        })
    }

    /// The loaded component `id`, if a trigger uses it.
    pub fn component(&self, id: &str) -> Option<&LoadedComponent> {
        self.components.get(id)
    }

    /// The instance allocator in use.
    pub fn allocator(&self) -> AllocatorKind {
        self.allocator
    }

    /// The storage shared by all instances.
    pub fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// A fresh store for one invocation of `component`. `depth` counts
    /// service-chaining hops, to stop request loops.
    pub fn new_store(
        &self,
        component: &LoadedComponent,
        dispatch: Option<Arc<dyn LocalDispatch>>,
        depth: u32,
    ) -> anyhow::Result<Store<StoreState>> {
        let context = &component.context;
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stdout().inherit_stderr();
        for (key, value) in &context.environment {
            wasi.env(key, value);
        }
        if let Some(root) = &context.files_root {
            wasi.preopened_dir(root, "/", FsPerms::ReadOnly)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("while mounting files of {:?}", context.id))?;
        }
        let deadline = Instant::now() + self.limits.deadline;
        let state = StoreState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: OutboundHooks::new(context.clone(), dispatch, depth),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.max_memory)
                .instances(100)
                .tables(100)
                .memories(10)
                .build(),
            component: context.clone(),
            services: self.services.clone(),
            deadline,
            open_sqlite_connections: 0,
            open_kv_stores: 0,
            stats: Arc::default(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        // The first check comes at the second tick, so a guest yields only
        // once it has run for at least a whole tick (short requests, the
        // common case, never go to the back of the queue halfway through);
        // after that, check the deadline at every tick and yield, so a busy
        // guest never starves other requests of a worker thread.
        store.set_epoch_deadline(2);
        store.epoch_deadline_callback(|cx| {
            if Instant::now() >= cx.data().deadline {
                Err(wasmtime::Error::new(DeadlineExceeded))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        Ok(store)
    }
}

fn build_linker(engine: &Engine) -> anyhow::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .map_err(anyhow::Error::from)
        .context("while adding WASI to the linker")?;
    let options = wasmtime_wasi_http::p2::bindings::LinkOptions::default();
    wasmtime_wasi_http::p2::bindings::http::types::add_to_linker::<_, WasiHttp>(
        &mut linker,
        &options.into(),
        StoreState::http,
    )
    .map_err(anyhow::Error::from)
    .context("while adding wasi:http/types to the linker")?;
    crate::outbound::relative::add_to_linker(&mut linker)
        .map_err(anyhow::Error::from)
        .context("while adding wasi:http/outgoing-handler to the linker")?;
    bindings::spin::Host_::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |state| state)
        .map_err(anyhow::Error::from)
        .context("while adding fermyon:spin to the linker")?;
    Ok(linker)
}
