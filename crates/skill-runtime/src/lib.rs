//! Runs skill components: components of the skill world
//! (`wit/skill/skill.wit`) compiled from a skill file's code block.
//!
//! The same crate runs them at the edge (inside the workflows component,
//! under `llmos up` and under `spin up`: the interpreter is part of the
//! component, so no host import is involved), in the browser (compiled
//! into the workbench's component worker) and in native tests, so equal
//! inputs give byte-identical outputs in all three places.
//!
//! - [`backend`]: wasmi 2 under `wasm_runtime_layer`, with fuel and memory
//!   limits on every store.
//! - [`imports`]: what a component may import, and the host's side of it.
//! - [`value`]: JSON ⇄ the world's `value` trees.
//! - [`ports`]: a component's `describe` against the skill file.
//!
//! A [`SkillRuntime`] parses and validates a component once and keeps it
//! by its SHA-256 ([`SkillRuntime::load`]); every [`SkillRuntime::run`]
//! instantiates it in a fresh store with its own fuel, so no state
//! survives from one call to the next.
#![forbid(unsafe_code)]

pub mod backend;
pub mod imports;
mod log;
pub mod ports;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

use llmos_core::skill::component::{self as file, ComponentFileError, ComponentInfo, Language};
use llmos_core::types::PortType;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use wasm_component_layer::{Component, Engine, Func, Instance, Store, Value, ValueType};

pub use backend::{GuestTrap, Limits};
pub use imports::ImportRefused;
pub use log::MAX_LOG_BYTES;
pub use ports::{PortMismatch, check_ports};
pub use value::ValueError;

use imports::{HostState, SkillStore};
use value::ValueTypes;

/// Components kept parsed per runtime; the least recently loaded goes
/// first. A Python component is about 20 MB of bytes and more once parsed.
const MAX_CACHED: usize = 16;

/// How much more fuel a component of an interpreted language gets than
/// [`Limits::fuel`], so that every skill is stopped after about the same
/// time.
///
/// wasmi charges each block of code in full when it is entered. The
/// interpreters inside Python and JavaScript components (CPython,
/// SpiderMonkey) dispatch through very large functions, so they are
/// charged for far more than they run: measured on this project's
/// two-core machines, an endless loop burns fuel about 700 times faster in
/// a componentize-py component and about 1200 times faster in a
/// componentize-js one than in compiled Rust (7·10⁸ units a second
/// natively). The scale comes from the component's provenance; a
/// component without one is charged as compiled code. Fuel stays exact
/// and deterministic: equal inputs spend equal fuel everywhere.
pub fn fuel_scale(language: Option<Language>) -> u64 {
    match language {
        Some(Language::Python) => 600,
        Some(Language::Javascript) => 1000,
        Some(Language::Rust | Language::Wat) | None => 1,
    }
}

/// One declared port, as `describe` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DescribedPort {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: PortType,
    pub required: bool,
}

/// What a component says of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Description {
    pub name: String,
    pub version: String,
    pub inputs: Vec<DescribedPort>,
    pub outputs: Vec<DescribedPort>,
}

/// A parsed and validated component, ready to run.
pub struct LoadedSkill {
    pub info: ComponentInfo,
    pub description: Description,
    component: Component,
    types: ValueTypes,
}

impl std::fmt::Debug for LoadedSkill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedSkill")
            .field("sha256", &self.info.sha256)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl LoadedSkill {
    /// The component's SHA-256, hex.
    pub fn sha256(&self) -> &str {
        &self.info.sha256
    }

    /// The language its provenance names, if any.
    pub fn language(&self) -> Option<Language> {
        self.info.provenance.as_ref().map(|p| p.language)
    }
}

/// Why a component cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    File(#[from] ComponentFileError),
    #[error("the component is not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Import(#[from] ImportRefused),
    #[error("the component does not implement the skill world: {0}")]
    World(String),
    #[error("the component's `describe` failed: {0}")]
    Describe(String),
}

impl LoadError {
    /// kebab-case code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::File(_) | LoadError::Invalid(_) => "component-invalid",
            LoadError::Import(_) => "component-import-refused",
            LoadError::World(_) => "component-wrong-world",
            LoadError::Describe(_) => "component-describe-failed",
        }
    }
}

/// Why a call produced no outputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("the skill ran out of fuel after {fuel} units (stopped; is there an endless loop?)")]
    OutOfFuel { fuel: u64 },
    #[error("the skill exceeded its memory limit of {limit} bytes")]
    OutOfMemory { limit: usize },
    #[error("the skill trapped: {message}")]
    Trap { message: String },
    #[error("the skill called exit {how}")]
    Exit { how: String },
    /// The skill returned `err(skill-error)`.
    #[error("{message}")]
    Skill { code: String, message: String },
    #[error("the skill's output is not valid: {0}")]
    Output(String),
    #[error("the input `{name}` cannot be passed to the skill: {error}")]
    Input { name: String, error: ValueError },
}

impl RunError {
    /// kebab-case code for node errors.
    pub fn code(&self) -> &str {
        match self {
            RunError::OutOfFuel { .. } => "skill-out-of-fuel",
            RunError::OutOfMemory { .. } => "skill-out-of-memory",
            RunError::Trap { .. } => "skill-trapped",
            RunError::Exit { .. } => "skill-exited",
            RunError::Skill { code, .. } => code,
            RunError::Output(_) => "skill-output-invalid",
            RunError::Input { .. } => "skill-input-invalid",
        }
    }
}

/// What one call produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub outputs: Map<String, Json>,
    /// What the skill printed or logged.
    pub log: String,
    /// Fuel the call used.
    pub fuel: u64,
}

/// A failed call: why, and what it logged before failing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct Failure {
    pub error: RunError,
    pub log: String,
    pub fuel: u64,
}

/// Loads, caches and runs skill components.
pub struct SkillRuntime {
    engine: Engine<backend::Engine>,
    cache: HashMap<String, Arc<LoadedSkill>>,
    /// Cache keys, least recently loaded first.
    order: Vec<String>,
    /// Caller keys (a git blob id) → SHA-256.
    aliases: HashMap<String, String>,
    loads: u64,
    /// Held while a store is created, so each gets the fuel meant for it.
    store_gate: std::sync::Mutex<()>,
}

impl std::fmt::Debug for SkillRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkillRuntime")
            .field("cached", &self.order)
            .field("loads", &self.loads)
            .finish_non_exhaustive()
    }
}

impl Default for SkillRuntime {
    fn default() -> Self {
        SkillRuntime::new(Limits::default())
    }
}

impl SkillRuntime {
    pub fn new(limits: Limits) -> Self {
        SkillRuntime {
            engine: Engine::new(backend::Engine::new(limits)),
            cache: HashMap::new(),
            order: Vec::new(),
            aliases: HashMap::new(),
            loads: 0,
            store_gate: std::sync::Mutex::new(()),
        }
    }

    pub fn limits(&self) -> Limits {
        self.engine.clone().into_backend().limits()
    }

    /// How many components were parsed and validated (cache misses).
    pub fn loads(&self) -> u64 {
        self.loads
    }

    /// The component of these bytes, parsed and validated once: its
    /// header, its imports (only those of the skill world), its exports
    /// (`describe` and `execute` of the world's types) and its description.
    pub fn load(&mut self, bytes: &[u8]) -> Result<Arc<LoadedSkill>, LoadError> {
        let info = file::inspect(bytes)?;
        if let Some(hit) = self.cache.get(&info.sha256) {
            return Ok(Arc::clone(hit));
        }
        let loaded = Arc::new(self.parse(bytes, info)?);
        self.remember(Arc::clone(&loaded));
        Ok(loaded)
    }

    /// Like [`SkillRuntime::load`], keyed by an id the caller already has
    /// (a git blob id), so a cached component needs neither its bytes nor
    /// their hash: `fetch` runs only on a miss.
    pub fn load_keyed<E>(
        &mut self,
        key: &str,
        fetch: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Result<Arc<LoadedSkill>, LoadError>, E> {
        if let Some(hit) = self.aliases.get(key).and_then(|sha| self.cache.get(sha)) {
            return Ok(Ok(Arc::clone(hit)));
        }
        let bytes = fetch()?;
        let loaded = self.load(&bytes);
        if let Ok(l) = &loaded {
            self.aliases.insert(key.to_owned(), l.info.sha256.clone());
        }
        Ok(loaded)
    }

    fn remember(&mut self, loaded: Arc<LoadedSkill>) {
        let key = loaded.info.sha256.clone();
        if self.order.len() >= MAX_CACHED {
            let old = self.order.remove(0);
            self.cache.remove(&old);
            self.aliases.retain(|_, sha| *sha != old);
        }
        self.order.push(key.clone());
        self.cache.insert(key, loaded);
    }

    fn parse(&mut self, bytes: &[u8], info: ComponentInfo) -> Result<LoadedSkill, LoadError> {
        self.loads += 1;
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        imports::check(&component)?;
        let exports = component.exports().root();
        let describe_ty = exports
            .func("describe")
            .ok_or_else(|| LoadError::World("it exports no `describe`".into()))?;
        let execute_ty = exports
            .func("execute")
            .ok_or_else(|| LoadError::World("it exports no `execute`".into()))?;
        if !describe_ty.params().is_empty() || describe_ty.results().len() != 1 {
            return Err(LoadError::World(
                "`describe` must take nothing and return a skill-description".into(),
            ));
        }
        let [fields] = execute_ty.params() else {
            return Err(LoadError::World(
                "`execute` must take one list of fields".into(),
            ));
        };
        let types = ValueTypes::from_fields(fields).map_err(|e| LoadError::World(e.to_string()))?;
        match execute_ty.results() {
            [ValueType::Result(r)] if r.ok_ty().as_ref() == Some(fields) => {}
            _ => {
                return Err(LoadError::World(
                    "`execute` must return result<fields, skill-error>".into(),
                ));
            }
        }
        let mut store = self.store(fuel_scale(info.provenance.as_ref().map(|p| p.language)));
        let instance = instantiate(&mut store, &component)
            .map_err(|e| LoadError::Describe(trap_message(&store, &e).to_string()))?;
        let describe =
            export(&instance, "describe").map_err(|e| LoadError::World(e.to_string()))?;
        let mut out = [Value::Bool(false)];
        describe
            .call(&mut store, &[], &mut out)
            .map_err(|e| LoadError::Describe(trap_message(&store, &e).to_string()))?;
        let description = ports::description(&out[0]).map_err(LoadError::World)?;
        Ok(LoadedSkill {
            info,
            description,
            component,
            types,
        })
    }

    /// A fresh store with `scale` times the runtime's fuel.
    fn store(&self, scale: u64) -> SkillStore {
        let backend = self.engine.clone().into_backend();
        let _gate = self
            .store_gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        backend.set_store_fuel(backend.limits().fuel.saturating_mul(scale));
        Store::new(&self.engine, HostState::default())
    }

    /// The fuel a call of `skill` may spend.
    pub fn fuel_for(&self, skill: &LoadedSkill) -> u64 {
        self.limits()
            .fuel
            .saturating_mul(fuel_scale(skill.language()))
    }

    /// Runs `skill` once on `inputs` (every input that has a value), in a
    /// fresh instance with the runtime's fuel and memory limits.
    pub fn run(&self, skill: &LoadedSkill, inputs: &Map<String, Json>) -> Result<Outcome, Failure> {
        let mut store = self.store(fuel_scale(skill.language()));
        let fail = |store: &SkillStore, error: RunError| Failure {
            error,
            log: store.data().log.text(),
            fuel: self.engine.clone().into_backend().fuel_consumed(),
        };
        let args = match skill
            .types
            .to_fields(inputs.iter().map(|(k, v)| (k.as_str(), v)))
        {
            Ok(args) => args,
            Err(error) => {
                let name = first_bad_input(&skill.types, inputs).unwrap_or_default();
                return Err(fail(&store, RunError::Input { name, error }));
            }
        };
        let instance = match instantiate(&mut store, &skill.component) {
            Ok(i) => i,
            Err(e) => {
                let error = trap_message(&store, &e);
                return Err(fail(&store, error));
            }
        };
        let execute = match export(&instance, "execute") {
            Ok(f) => f,
            Err(e) => return Err(fail(&store, RunError::Output(e.to_string()))),
        };
        let mut out = [Value::Bool(false)];
        if let Err(e) = execute.call(&mut store, &[args], &mut out) {
            let error = trap_message(&store, &e);
            return Err(fail(&store, error));
        }
        let fuel = self.engine.clone().into_backend().fuel_consumed();
        let Value::Result(result) = &out[0] else {
            return Err(fail(&store, RunError::Output("not a result".into())));
        };
        match &**result {
            Ok(Some(fields)) => match value::fields_to_json(fields) {
                Ok(outputs) => Ok(Outcome {
                    outputs,
                    log: store.data().log.text(),
                    fuel,
                }),
                Err(e) => Err(fail(&store, RunError::Output(e.to_string()))),
            },
            Err(Some(Value::Record(err))) => {
                let text = |name: &str| match err.field(name) {
                    Some(Value::String(s)) => s.to_string(),
                    _ => String::new(),
                };
                let code = sanitize_code(&text("code"));
                Err(fail(
                    &store,
                    RunError::Skill {
                        code,
                        message: text("message"),
                    },
                ))
            }
            _ => Err(fail(&store, RunError::Output("a malformed result".into()))),
        }
    }
}

/// Skill error codes become node error codes: kebab-case, bounded, and
/// never one of the host's own.
fn sanitize_code(code: &str) -> String {
    let cleaned: String = code
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(64)
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "skill-failed".to_owned()
    } else if trimmed.starts_with("skill-") {
        trimmed.to_owned()
    } else {
        format!("skill-{trimmed}")
    }
}

fn first_bad_input(types: &ValueTypes, inputs: &Map<String, Json>) -> Option<String> {
    inputs
        .iter()
        .find(|(_, v)| types.to_value(v).is_err())
        .map(|(k, _)| k.clone())
}

fn instantiate(store: &mut SkillStore, component: &Component) -> anyhow::Result<Instance> {
    let linker = imports::linker(store, component)?;
    linker.instantiate(store, component)
}

fn export(instance: &Instance, name: &str) -> anyhow::Result<Func> {
    instance
        .exports()
        .root()
        .func(name)
        .ok_or_else(|| anyhow::anyhow!("the instance exports no `{name}`"))
}

/// What ended a call that failed inside the guest.
fn trap_message(store: &SkillStore, err: &anyhow::Error) -> RunError {
    if let Some(how) = &store.data().exited {
        return RunError::Exit { how: how.clone() };
    }
    for cause in err.chain() {
        if let Some(trap) = cause.downcast_ref::<GuestTrap>() {
            return match trap {
                GuestTrap::OutOfFuel { budget } => RunError::OutOfFuel { fuel: *budget },
                GuestTrap::OutOfMemory { limit } => RunError::OutOfMemory { limit: *limit },
                GuestTrap::Trap(message) => RunError::Trap {
                    message: message.clone(),
                },
            };
        }
    }
    let engine = store.engine().clone().into_backend();
    if engine.fuel_consumed() >= engine.store_fuel() {
        return RunError::OutOfFuel {
            fuel: engine.store_fuel(),
        };
    }
    RunError::Trap {
        message: format!("{err:#}"),
    }
}
