//! A `wasm_runtime_layer` backend over wasmi 2, the interpreter skill
//! components run in.
//!
//! `wasm_component_layer` implements the component model on top of any
//! engine that implements `wasm_runtime_layer`'s backend traits, but it
//! keeps the engine's store private: nothing above it can set fuel or a
//! memory limit. This backend owns both. Every store it creates starts with
//! the engine's [`Limits`]: a fuel budget (wasmi counts roughly one unit
//! per instruction) and caps on linear memory and table sizes, so a
//! runaway loop ends in an out-of-fuel trap and a memory bomb in a failed
//! `memory.grow` that traps. [`Engine::set_store_fuel`] changes the budget
//! of the stores created after it (a runtime gives interpreted languages
//! more, see `crate::fuel_scale`). What a store burned is left in
//! [`Engine::fuel_consumed`] after each call that returns to the host.
//!
//! The engine is configured for the Wasm 3.0 deterministic profile (NaNs
//! are canonicalised), so the same component computes the same bits on
//! every platform the runtime is built for: the edge (wasm32-wasip2 inside
//! a Spin component), the browser (wasm32-unknown-unknown) and native
//! tests.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Result, bail};
use wasm_runtime_layer::backend::{
    self as layer, AsContext, AsContextMut, Export, Extern, Imports, WasmEngine, WasmExternRef,
    WasmFunc, WasmGlobal, WasmInstance, WasmMemory, WasmModule, WasmStore, WasmStoreContext,
    WasmStoreContextMut, WasmTable,
};
use wasm_runtime_layer::{
    ExportType, ExternType, FuncType, GlobalType, ImportType, MemoryType, TableType, ValueType,
};

/// What one store may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel a store starts with; none is added later.
    pub fuel: u64,
    /// Largest size of any linear memory, in bytes.
    pub max_memory_bytes: usize,
    /// Largest number of elements of any table.
    pub max_table_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // About a second of interpreted work on a slow machine.
            fuel: 500_000_000,
            max_memory_bytes: 128 << 20,
            max_table_elements: 1 << 20,
        }
    }
}

/// The backend engine: a wasmi engine and the limits of its stores.
#[derive(Clone)]
pub struct Engine {
    inner: wasmi::Engine,
    limits: Limits,
    /// Fuel the last store spent by the time its latest call returned.
    consumed: Arc<AtomicU64>,
    /// Fuel the next store starts with.
    store_fuel: Arc<AtomicU64>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine whose stores get `limits`.
    pub fn new(limits: Limits) -> Self {
        let mut config = wasmi::Config::default();
        config
            .consume_fuel(true)
            // Components from current toolchains use these.
            .wasm_bulk_memory(true)
            .wasm_multi_value(true)
            .wasm_mutable_global(true)
            .wasm_sign_extension(true)
            .wasm_saturating_float_to_int(true)
            .wasm_reference_types(true)
            .wasm_tail_call(true)
            .wasm_extended_const(true)
            // Functions are translated when first called: a Python or
            // JavaScript runtime has tens of thousands of functions and a
            // skill calls few of them. Validation still happens up front.
            .compilation_mode(wasmi::CompilationMode::LazyTranslation)
            // Fuel measures what the guest does, not what the interpreter
            // does for it: translating a function on its first call is
            // charged to nobody, else a call's fuel (and whether it runs
            // out) would depend on which functions earlier calls happened
            // to translate. Bulk operations (`memory.fill`, `copy`, `grow`)
            // run at memcpy speed and are bounded by the memory limit; at
            // wasmi's default of 64 bytes a unit, a JavaScript runtime
            // clearing its heap once would spend more fuel than a second
            // of interpreted code, so they cost one unit per 64 KiB.
            .fuel_cost(wasmi::CustomFuelCosts {
                bytes_copied_per_fuel: 64 << 10,
                fuel_per_bytes_translated: 0,
                fuel_per_bytes_validated: 0,
            });
        Engine {
            inner: wasmi::Engine::new(&config),
            limits,
            consumed: Arc::new(AtomicU64::new(0)),
            store_fuel: Arc::new(AtomicU64::new(limits.fuel)),
        }
    }

    /// The fuel stores created from now on start with.
    pub fn set_store_fuel(&self, fuel: u64) {
        self.store_fuel.store(fuel, Ordering::Relaxed);
    }

    /// The fuel a store created now starts with.
    pub fn store_fuel(&self) -> u64 {
        self.store_fuel.load(Ordering::Relaxed)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Fuel the most recent store had spent when its latest call into the
    /// guest returned (or trapped).
    pub fn fuel_consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }
}

/// An error a trap or a host function raised inside the interpreter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestTrap {
    #[error("the skill ran out of fuel (its budget is {budget} units)")]
    OutOfFuel { budget: u64 },
    #[error("the skill exceeded its memory limit of {limit} bytes")]
    OutOfMemory { limit: usize },
    #[error("the skill trapped: {0}")]
    Trap(String),
}

/// `fuel`: the budget of the store that trapped.
fn trap_from(engine: &Engine, fuel: u64, err: wasmi::Error) -> anyhow::Error {
    use wasmi::TrapCode;
    if let Some(code) = err.as_trap_code() {
        return anyhow::Error::new(match code {
            TrapCode::OutOfFuel => GuestTrap::OutOfFuel { budget: fuel },
            TrapCode::GrowthOperationLimited => GuestTrap::OutOfMemory {
                limit: engine.limits.max_memory_bytes,
            },
            other => GuestTrap::Trap(other.to_string()),
        });
    }
    if let wasmi::errors::ErrorKind::Host(_) = err.kind() {
        if let Some(HostError(inner)) = err.downcast::<HostError>() {
            return inner;
        }
        return anyhow::anyhow!("a host function failed");
    }
    anyhow::Error::new(err)
}

/// An anyhow error raised by a host function, carried through wasmi.
#[derive(Debug)]
struct HostError(anyhow::Error);

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl wasmi::errors::HostError for HostError {}

/// A store's data: the limiter wasmi asks on every growth, and the user's.
pub struct StoreData<T> {
    limits: wasmi::StoreLimits,
    /// The fuel the store started with.
    fuel: u64,
    user: T,
}

// --------------------------------------------------------------- handles ----

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name($inner);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}

handle!(
    /// A function of an instance or the host.
    Func(wasmi::Func)
);
handle!(
    /// A global variable.
    Global(wasmi::Global)
);
handle!(
    /// An instantiated core module.
    Instance(wasmi::Instance)
);
handle!(
    /// A linear memory.
    Memory(wasmi::Memory)
);
handle!(
    /// A validated core module.
    Module(wasmi::Module)
);
handle!(
    /// A table of references.
    Table(wasmi::Table)
);
handle!(
    /// An opaque host reference.
    ExternRef(wasmi::ExternRef)
);

/// A store: wasmi's, with [`StoreData`].
pub struct Store<T> {
    inner: wasmi::Store<StoreData<T>>,
    engine: Engine,
}

/// A shared borrow of a store.
pub struct StoreContext<'a, T> {
    inner: wasmi::StoreContext<'a, StoreData<T>>,
    engine: &'a Engine,
}

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T> {
    inner: wasmi::StoreContextMut<'a, StoreData<T>>,
    engine: &'a Engine,
}

impl WasmEngine for Engine {
    type ExternRef = ExternRef;
    type Func = Func;
    type Global = Global;
    type Instance = Instance;
    type Memory = Memory;
    type Module = Module;
    type Store<T> = Store<T>;
    type StoreContext<'a, T: 'a> = StoreContext<'a, T>;
    type StoreContextMut<'a, T: 'a> = StoreContextMut<'a, T>;
    type Table = Table;
}

// ----------------------------------------------------------------- store ----

impl<T> WasmStore<T, Engine> for Store<T> {
    fn new(engine: &Engine, data: T) -> Self {
        let limits = wasmi::StoreLimitsBuilder::new()
            .memory_size(engine.limits.max_memory_bytes)
            .table_elements(engine.limits.max_table_elements)
            .trap_on_grow_failure(true)
            .build();
        let mut inner = wasmi::Store::new(
            &engine.inner,
            StoreData {
                limits,
                fuel: engine.store_fuel(),
                user: data,
            },
        );
        inner.limiter(|d| &mut d.limits);
        inner
            .set_fuel(engine.store_fuel())
            .expect("the engine is configured to consume fuel");
        engine.consumed.store(0, Ordering::Relaxed);
        Store {
            inner,
            engine: engine.clone(),
        }
    }

    fn engine(&self) -> &Engine {
        &self.engine
    }

    fn data(&self) -> &T {
        &self.inner.data().user
    }

    fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data_mut().user
    }

    fn into_data(self) -> T {
        self.inner.into_data().user
    }
}

impl<T> AsContext<Engine> for Store<T> {
    type UserState = T;

    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext {
            inner: wasmi::AsContext::as_context(&self.inner),
            engine: &self.engine,
        }
    }
}

impl<T> AsContextMut<Engine> for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut {
            inner: wasmi::AsContextMut::as_context_mut(&mut self.inner),
            engine: &self.engine,
        }
    }
}

impl<'a, T> WasmStoreContext<'a, T, Engine> for StoreContext<'a, T> {
    fn engine(&self) -> &Engine {
        self.engine
    }

    fn data(&self) -> &T {
        &self.inner.data().user
    }
}

impl<T> AsContext<Engine> for StoreContext<'_, T> {
    type UserState = T;

    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext {
            inner: wasmi::AsContext::as_context(&self.inner),
            engine: self.engine,
        }
    }
}

impl<'a, T> WasmStoreContext<'a, T, Engine> for StoreContextMut<'a, T> {
    fn engine(&self) -> &Engine {
        self.engine
    }

    fn data(&self) -> &T {
        &self.inner.data().user
    }
}

impl<'a, T> WasmStoreContextMut<'a, T, Engine> for StoreContextMut<'a, T> {
    fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data_mut().user
    }
}

impl<T> AsContext<Engine> for StoreContextMut<'_, T> {
    type UserState = T;

    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext {
            inner: wasmi::AsContext::as_context(&self.inner),
            engine: self.engine,
        }
    }
}

impl<T> AsContextMut<Engine> for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut {
            inner: wasmi::AsContextMut::as_context_mut(&mut self.inner),
            engine: self.engine,
        }
    }
}

// ---------------------------------------------------------------- values ----

type Value = layer::Value<Engine>;

fn value_to_wasmi(v: &Value) -> wasmi::Val {
    match v {
        Value::I32(x) => wasmi::Val::I32(*x),
        Value::I64(x) => wasmi::Val::I64(*x),
        Value::F32(x) => wasmi::Val::F32((*x).into()),
        Value::F64(x) => wasmi::Val::F64((*x).into()),
        Value::FuncRef(f) => wasmi::Val::FuncRef(match f {
            Some(f) => wasmi::Nullable::Val(f.0),
            None => wasmi::Nullable::Null,
        }),
        Value::ExternRef(e) => wasmi::Val::ExternRef(match e {
            Some(e) => wasmi::Nullable::Val(e.0),
            None => wasmi::Nullable::Null,
        }),
    }
}

fn value_from_wasmi(v: &wasmi::Val) -> Result<Value> {
    Ok(match v {
        wasmi::Val::I32(x) => Value::I32(*x),
        wasmi::Val::I64(x) => Value::I64(*x),
        wasmi::Val::F32(x) => Value::F32(x.to_float()),
        wasmi::Val::F64(x) => Value::F64(x.to_float()),
        wasmi::Val::FuncRef(f) => Value::FuncRef(match f {
            wasmi::Nullable::Val(f) => Some(Func(*f)),
            wasmi::Nullable::Null => None,
        }),
        wasmi::Val::ExternRef(e) => Value::ExternRef(match e {
            wasmi::Nullable::Val(e) => Some(ExternRef(*e)),
            wasmi::Nullable::Null => None,
        }),
        wasmi::Val::V128(_) => bail!("128-bit vector values cannot cross into the host"),
    })
}

fn ref_to_wasmi(v: &Value) -> Result<wasmi::Ref> {
    Ok(match value_to_wasmi(v) {
        wasmi::Val::FuncRef(f) => wasmi::Ref::Func(f),
        wasmi::Val::ExternRef(e) => wasmi::Ref::Extern(e),
        _ => bail!("a table element must be a reference"),
    })
}

fn ref_from_wasmi(r: wasmi::Ref) -> Value {
    match r {
        wasmi::Ref::Func(f) => Value::FuncRef(match f {
            wasmi::Nullable::Val(f) => Some(Func(f)),
            wasmi::Nullable::Null => None,
        }),
        wasmi::Ref::Extern(e) => Value::ExternRef(match e {
            wasmi::Nullable::Val(e) => Some(ExternRef(e)),
            wasmi::Nullable::Null => None,
        }),
    }
}

fn value_type_to_wasmi(t: ValueType) -> wasmi::ValType {
    match t {
        ValueType::I32 => wasmi::ValType::I32,
        ValueType::I64 => wasmi::ValType::I64,
        ValueType::F32 => wasmi::ValType::F32,
        ValueType::F64 => wasmi::ValType::F64,
        ValueType::FuncRef => wasmi::ValType::FuncRef,
        ValueType::ExternRef => wasmi::ValType::ExternRef,
    }
}

fn value_type_from_wasmi(t: wasmi::ValType) -> Result<ValueType> {
    Ok(match t {
        wasmi::ValType::I32 => ValueType::I32,
        wasmi::ValType::I64 => ValueType::I64,
        wasmi::ValType::F32 => ValueType::F32,
        wasmi::ValType::F64 => ValueType::F64,
        wasmi::ValType::FuncRef => ValueType::FuncRef,
        wasmi::ValType::ExternRef => ValueType::ExternRef,
        wasmi::ValType::V128 => bail!("128-bit vector values cannot cross into the host"),
    })
}

fn func_type_to_wasmi(t: &FuncType) -> wasmi::FuncType {
    wasmi::FuncType::new(
        t.params().iter().map(|&p| value_type_to_wasmi(p)),
        t.results().iter().map(|&r| value_type_to_wasmi(r)),
    )
}

fn func_type_from_wasmi(t: &wasmi::FuncType) -> Result<FuncType> {
    let params = t
        .params()
        .iter()
        .map(|&p| value_type_from_wasmi(p))
        .collect::<Result<Vec<_>>>()?;
    let results = t
        .results()
        .iter()
        .map(|&r| value_type_from_wasmi(r))
        .collect::<Result<Vec<_>>>()?;
    Ok(FuncType::new(params, results))
}

fn u32_size(n: u64, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| anyhow::anyhow!("64-bit {what} sizes are not supported"))
}

fn extern_type_from_wasmi(t: &wasmi::ExternType) -> Result<ExternType> {
    Ok(match t {
        wasmi::ExternType::Func(f) => ExternType::Func(func_type_from_wasmi(f)?),
        wasmi::ExternType::Global(g) => ExternType::Global(GlobalType::new(
            value_type_from_wasmi(g.content())?,
            g.mutability().is_mut(),
        )),
        wasmi::ExternType::Memory(m) => ExternType::Memory(MemoryType::new(
            u32_size(m.minimum(), "memory")?,
            m.maximum().map(|x| u32_size(x, "memory")).transpose()?,
        )),
        wasmi::ExternType::Table(t) => ExternType::Table(TableType::new(
            value_type_from_wasmi(t.element().into())?,
            u32_size(t.minimum(), "table")?,
            t.maximum().map(|x| u32_size(x, "table")).transpose()?,
        )),
    })
}

fn extern_to_wasmi(e: &Extern<Engine>) -> wasmi::Extern {
    match e {
        Extern::Func(f) => wasmi::Extern::Func(f.0),
        Extern::Global(g) => wasmi::Extern::Global(g.0),
        Extern::Memory(m) => wasmi::Extern::Memory(m.0),
        Extern::Table(t) => wasmi::Extern::Table(t.0),
    }
}

fn extern_from_wasmi(e: wasmi::Extern) -> Extern<Engine> {
    match e {
        wasmi::Extern::Func(f) => Extern::Func(Func(f)),
        wasmi::Extern::Global(g) => Extern::Global(Global(g)),
        wasmi::Extern::Memory(m) => Extern::Memory(Memory(m)),
        wasmi::Extern::Table(t) => Extern::Table(Table(t)),
    }
}

// ------------------------------------------------------------- functions ----

impl WasmFunc<Engine> for Func {
    fn new<T>(
        mut ctx: impl AsContextMut<Engine, UserState = T>,
        ty: FuncType,
        func: impl 'static
        + Send
        + Sync
        + Fn(StoreContextMut<'_, T>, &[Value], &mut [Value]) -> Result<()>,
    ) -> Self {
        let mut ctx = ctx.as_context_mut();
        let engine = ctx.engine.clone();
        let wasmi_ty = func_type_to_wasmi(&ty);
        Func(wasmi::Func::new(
            &mut ctx.inner,
            wasmi_ty,
            move |mut caller: wasmi::Caller<'_, StoreData<T>>, params, results| {
                let args = params
                    .iter()
                    .map(value_from_wasmi)
                    .collect::<Result<Vec<_>>>()
                    .map_err(|e| wasmi::Error::host(HostError(e)))?;
                let mut outs = ty.results().iter().map(|t| zero_of(*t)).collect::<Vec<_>>();
                let cx = StoreContextMut {
                    inner: wasmi::AsContextMut::as_context_mut(&mut caller),
                    engine: &engine,
                };
                func(cx, &args, &mut outs).map_err(|e| wasmi::Error::host(HostError(e)))?;
                for (slot, v) in results.iter_mut().zip(&outs) {
                    *slot = value_to_wasmi(v);
                }
                Ok(())
            },
        ))
    }

    fn ty(&self, ctx: impl AsContext<Engine>) -> FuncType {
        let ctx = ctx.as_context();
        func_type_from_wasmi(&self.0.ty(ctx.inner))
            .expect("host-visible functions have no vector parameters")
    }

    fn call<T>(
        &self,
        mut ctx: impl AsContextMut<Engine>,
        args: &[Value],
        results: &mut [Value],
    ) -> Result<()> {
        let mut ctx = ctx.as_context_mut();
        let engine = ctx.engine;
        let params: Vec<wasmi::Val> = args.iter().map(value_to_wasmi).collect();
        let ty = self.0.ty(&ctx.inner);
        let mut outs: Vec<wasmi::Val> = ty
            .results()
            .iter()
            .map(|t| wasmi::Val::default_for_ty(*t))
            .collect();
        let called = self.0.call(&mut ctx.inner, &params, &mut outs);
        let left = ctx.inner.get_fuel().unwrap_or(0);
        let fuel = ctx.inner.data().fuel;
        engine
            .consumed
            .store(fuel.saturating_sub(left), Ordering::Relaxed);
        called.map_err(|e| trap_from(engine, fuel, e))?;
        for (slot, v) in results.iter_mut().zip(&outs) {
            *slot = value_from_wasmi(v)?;
        }
        Ok(())
    }
}

fn zero_of(t: ValueType) -> Value {
    match t {
        ValueType::I32 => Value::I32(0),
        ValueType::I64 => Value::I64(0),
        ValueType::F32 => Value::F32(0.0),
        ValueType::F64 => Value::F64(0.0),
        ValueType::FuncRef => Value::FuncRef(None),
        ValueType::ExternRef => Value::ExternRef(None),
    }
}

impl WasmExternRef<Engine> for ExternRef {
    fn new<T: 'static + Send + Sync>(mut ctx: impl AsContextMut<Engine>, object: T) -> Self {
        let mut ctx = ctx.as_context_mut();
        ExternRef(wasmi::ExternRef::new(&mut ctx.inner, object))
    }

    fn downcast<'a, 's: 'a, T: 'static, S: 's>(
        &'a self,
        store: StoreContext<'s, S>,
    ) -> Result<&'a T> {
        self.0
            .data(store.inner)
            .downcast_ref::<T>()
            .ok_or_else(|| anyhow::anyhow!("an external reference of another type"))
    }
}

// --------------------------------------------------- globals and memory ----

impl WasmGlobal<Engine> for Global {
    fn new(mut ctx: impl AsContextMut<Engine>, value: Value, mutable: bool) -> Self {
        let mut ctx = ctx.as_context_mut();
        let mutability = if mutable {
            wasmi::Mutability::Var
        } else {
            wasmi::Mutability::Const
        };
        Global(wasmi::Global::new(
            &mut ctx.inner,
            value_to_wasmi(&value),
            mutability,
        ))
    }

    fn ty(&self, ctx: impl AsContext<Engine>) -> GlobalType {
        let ctx = ctx.as_context();
        let t = self.0.ty(ctx.inner);
        GlobalType::new(
            value_type_from_wasmi(t.content()).expect("globals hold no vectors here"),
            t.mutability().is_mut(),
        )
    }

    fn set(&self, mut ctx: impl AsContextMut<Engine>, new_value: Value) -> Result<()> {
        let mut ctx = ctx.as_context_mut();
        self.0
            .set(&mut ctx.inner, value_to_wasmi(&new_value))
            .map_err(anyhow::Error::new)
    }

    fn get(&self, mut ctx: impl AsContextMut<Engine>) -> Value {
        let ctx = ctx.as_context_mut();
        value_from_wasmi(&self.0.get(&ctx.inner)).expect("globals hold no vectors here")
    }
}

impl WasmMemory<Engine> for Memory {
    fn new(mut ctx: impl AsContextMut<Engine>, ty: MemoryType) -> Result<Self> {
        let mut ctx = ctx.as_context_mut();
        let ty = wasmi::MemoryType::new(ty.initial_pages(), ty.maximum_pages());
        Ok(Memory(
            wasmi::Memory::new(&mut ctx.inner, ty).map_err(anyhow::Error::new)?,
        ))
    }

    fn ty(&self, ctx: impl AsContext<Engine>) -> MemoryType {
        let ctx = ctx.as_context();
        let t = self.0.ty(ctx.inner);
        MemoryType::new(
            u32::try_from(t.minimum()).unwrap_or(u32::MAX),
            t.maximum().map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        )
    }

    fn grow(&self, mut ctx: impl AsContextMut<Engine>, additional: u32) -> Result<u32> {
        let mut ctx = ctx.as_context_mut();
        let engine = ctx.engine;
        let before = self
            .0
            .grow(&mut ctx.inner, u64::from(additional))
            .map_err(|e| trap_from(engine, ctx.inner.data().fuel, e.into()))?;
        u32_size(before, "memory")
    }

    fn current_pages(&self, ctx: impl AsContext<Engine>) -> u32 {
        let ctx = ctx.as_context();
        u32::try_from(self.0.size(ctx.inner)).unwrap_or(u32::MAX)
    }

    fn read(&self, ctx: impl AsContext<Engine>, offset: usize, buffer: &mut [u8]) -> Result<()> {
        let ctx = ctx.as_context();
        self.0
            .read(ctx.inner, offset, buffer)
            .map_err(anyhow::Error::new)
    }

    fn write(
        &self,
        mut ctx: impl AsContextMut<Engine>,
        offset: usize,
        buffer: &[u8],
    ) -> Result<()> {
        let mut ctx = ctx.as_context_mut();
        self.0
            .write(&mut ctx.inner, offset, buffer)
            .map_err(anyhow::Error::new)
    }
}

impl WasmTable<Engine> for Table {
    fn new(mut ctx: impl AsContextMut<Engine>, ty: TableType, init: Value) -> Result<Self> {
        let mut ctx = ctx.as_context_mut();
        let element = match value_type_to_wasmi(ty.element()) {
            wasmi::ValType::FuncRef => wasmi::RefType::Func,
            wasmi::ValType::ExternRef => wasmi::RefType::Extern,
            other => bail!("a table cannot hold {other:?} values"),
        };
        let ty = wasmi::TableType::new(element, ty.minimum(), ty.maximum());
        Ok(Table(
            wasmi::Table::new(&mut ctx.inner, ty, ref_to_wasmi(&init)?)
                .map_err(anyhow::Error::new)?,
        ))
    }

    fn ty(&self, ctx: impl AsContext<Engine>) -> TableType {
        let ctx = ctx.as_context();
        let t = self.0.ty(ctx.inner);
        let element = match t.element() {
            wasmi::RefType::Func => ValueType::FuncRef,
            wasmi::RefType::Extern => ValueType::ExternRef,
        };
        TableType::new(
            element,
            u32::try_from(t.minimum()).unwrap_or(u32::MAX),
            t.maximum().map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        )
    }

    fn size(&self, ctx: impl AsContext<Engine>) -> u32 {
        let ctx = ctx.as_context();
        u32::try_from(self.0.size(ctx.inner)).unwrap_or(u32::MAX)
    }

    fn grow(&self, mut ctx: impl AsContextMut<Engine>, delta: u32, init: Value) -> Result<u32> {
        let mut ctx = ctx.as_context_mut();
        let engine = ctx.engine;
        let before = self
            .0
            .grow(&mut ctx.inner, u64::from(delta), ref_to_wasmi(&init)?)
            .map_err(|e| trap_from(engine, ctx.inner.data().fuel, e.into()))?;
        u32_size(before, "table")
    }

    fn get(&self, mut ctx: impl AsContextMut<Engine>, index: u32) -> Option<Value> {
        let ctx = ctx.as_context_mut();
        self.0.get(&ctx.inner, u64::from(index)).map(ref_from_wasmi)
    }

    fn set(&self, mut ctx: impl AsContextMut<Engine>, index: u32, value: Value) -> Result<()> {
        let mut ctx = ctx.as_context_mut();
        self.0
            .set(&mut ctx.inner, u64::from(index), ref_to_wasmi(&value)?)
            .map_err(anyhow::Error::new)
    }
}

// ------------------------------------------------- modules and instances ----

impl WasmModule<Engine> for Module {
    fn new(engine: &Engine, mut stream: impl std::io::Read) -> Result<Self> {
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes)?;
        let module = wasmi::Module::new(&engine.inner, &bytes).map_err(anyhow::Error::new)?;
        // Refuse up front what the layer could not describe later.
        for import in module.imports() {
            extern_type_from_wasmi(import.ty())?;
        }
        for export in module.exports() {
            extern_type_from_wasmi(export.ty())?;
        }
        Ok(Module(module))
    }

    fn exports(&self) -> Box<dyn '_ + Iterator<Item = ExportType<'_>>> {
        Box::new(self.0.exports().map(|e| ExportType {
            name: e.name(),
            ty: extern_type_from_wasmi(e.ty()).expect("checked when the module was made"),
        }))
    }

    fn get_export(&self, name: &str) -> Option<ExternType> {
        self.0
            .get_export(name)
            .map(|t| extern_type_from_wasmi(&t).expect("checked when the module was made"))
    }

    fn imports(&self) -> Box<dyn '_ + Iterator<Item = ImportType<'_>>> {
        Box::new(self.0.imports().map(|i| ImportType {
            module: i.module(),
            name: i.name(),
            ty: extern_type_from_wasmi(i.ty()).expect("checked when the module was made"),
        }))
    }
}

impl WasmInstance<Engine> for Instance {
    fn new(
        mut store: impl AsContextMut<Engine>,
        module: &Module,
        imports: &Imports<Engine>,
    ) -> Result<Self> {
        let mut ctx = store.as_context_mut();
        let engine = ctx.engine;
        let mut linker = wasmi::Linker::<StoreData<_>>::new(&engine.inner);
        for ((ns, name), item) in imports {
            linker
                .define(&ns, &name, extern_to_wasmi(&item))
                .map_err(anyhow::Error::new)?;
        }
        let instance = linker
            .instantiate_and_start(&mut ctx.inner, &module.0)
            .map_err(|e| trap_from(engine, ctx.inner.data().fuel, e))?;
        Ok(Instance(instance))
    }

    fn exports(&self, store: impl AsContext<Engine>) -> Box<dyn Iterator<Item = Export<Engine>>> {
        let ctx = store.as_context();
        let list: Vec<Export<Engine>> = self
            .0
            .exports(ctx.inner)
            .map(|e| Export {
                name: e.name().to_owned(),
                value: extern_from_wasmi(e.into_extern()),
            })
            .collect();
        Box::new(list.into_iter())
    }

    fn get_export(&self, store: impl AsContext<Engine>, name: &str) -> Option<Extern<Engine>> {
        let ctx = store.as_context();
        self.0.get_export(ctx.inner, name).map(extern_from_wasmi)
    }
}
