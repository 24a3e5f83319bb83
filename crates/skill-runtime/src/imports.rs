//! What a skill component may import, and the host's side of it.
//!
//! The skill world imports `llmos:skill/types` (types only) and
//! `llmos:skill/host` (`log`). So that components built from ordinary Rust
//! run, the host also provides a closed set of WASI 0.2 functions, none of
//! which reaches the outside: console output goes to the node's log,
//! standard input is at its end, the environment is empty, there is no
//! terminal, and `exit` ends the call with an error. Every other import
//! (any other interface, any function of these interfaces not listed here,
//! any import at the component's root) is refused by [`check`] with the
//! import's full name, before anything runs.
//!
//! Host functions are defined with the exact types the component expects:
//! they are read from the component's own import signatures, with its
//! abstract resources replaced by the host's, so every WASI 0.2.x version
//! links.

use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use wasm_component_layer::{
    AsContext, Component, Func, FuncType, InterfaceIdentifier, Linker, List, ListType, OptionValue,
    ResourceOwn, ResourceType, ResultValue, Store, Value, ValueType, Variant, VariantCase,
    VariantType,
};

use crate::backend;
use crate::log::Log;

/// What a store keeps for the host functions of one call.
#[derive(Debug, Default)]
pub struct HostState {
    pub log: Log,
    /// Set when the skill called `wasi:cli/exit`.
    pub exited: Option<String>,
}

pub type SkillStore = Store<HostState, backend::Engine>;

/// The behaviour of one allowed import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Log,
    Environment,
    Arguments,
    InitialCwd,
    Exit,
    ExitWithCode,
    Stdin,
    Stdout,
    Stderr,
    NoTerminal,
    CheckWrite,
    Write,
    Flush,
    WriteZeroes,
    Subscribe,
    Closed,
    PollableReady,
    PollableBlock,
    Poll,
    ErrorDebug,
}

/// An interface the host provides: package, interface, the major.minor
/// version accepted, and its functions.
struct Provided {
    namespace: &'static str,
    package: &'static str,
    interface: &'static str,
    version: (u64, u64),
    resources: &'static [&'static str],
    functions: &'static [(&'static str, Behaviour)],
}

use Behaviour as B;

const PROVIDED: &[Provided] = &[
    Provided {
        namespace: "llmos",
        package: "skill",
        interface: "types",
        version: (0, 1),
        resources: &[],
        functions: &[],
    },
    Provided {
        namespace: "llmos",
        package: "skill",
        interface: "host",
        version: (0, 1),
        resources: &[],
        functions: &[("log", B::Log)],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "environment",
        version: (0, 2),
        resources: &[],
        functions: &[
            ("get-environment", B::Environment),
            ("get-arguments", B::Arguments),
            ("initial-cwd", B::InitialCwd),
        ],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "exit",
        version: (0, 2),
        resources: &[],
        functions: &[("exit", B::Exit), ("exit-with-code", B::ExitWithCode)],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "stdin",
        version: (0, 2),
        resources: &[],
        functions: &[("get-stdin", B::Stdin)],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "stdout",
        version: (0, 2),
        resources: &[],
        functions: &[("get-stdout", B::Stdout)],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "stderr",
        version: (0, 2),
        resources: &[],
        functions: &[("get-stderr", B::Stderr)],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "terminal-input",
        version: (0, 2),
        resources: &["terminal-input"],
        functions: &[],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "terminal-output",
        version: (0, 2),
        resources: &["terminal-output"],
        functions: &[],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "terminal-stdin",
        version: (0, 2),
        resources: &[],
        functions: &[("get-terminal-stdin", B::NoTerminal)],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "terminal-stdout",
        version: (0, 2),
        resources: &[],
        functions: &[("get-terminal-stdout", B::NoTerminal)],
    },
    Provided {
        namespace: "wasi",
        package: "cli",
        interface: "terminal-stderr",
        version: (0, 2),
        resources: &[],
        functions: &[("get-terminal-stderr", B::NoTerminal)],
    },
    Provided {
        namespace: "wasi",
        package: "io",
        interface: "error",
        version: (0, 2),
        resources: &["error"],
        functions: &[("[method]error.to-debug-string", B::ErrorDebug)],
    },
    Provided {
        namespace: "wasi",
        package: "io",
        interface: "poll",
        version: (0, 2),
        resources: &["pollable"],
        functions: &[
            ("[method]pollable.ready", B::PollableReady),
            ("[method]pollable.block", B::PollableBlock),
            ("poll", B::Poll),
        ],
    },
    Provided {
        namespace: "wasi",
        package: "io",
        interface: "streams",
        version: (0, 2),
        resources: &["input-stream", "output-stream"],
        functions: &[
            ("[method]input-stream.read", B::Closed),
            ("[method]input-stream.blocking-read", B::Closed),
            ("[method]input-stream.skip", B::Closed),
            ("[method]input-stream.blocking-skip", B::Closed),
            ("[method]input-stream.subscribe", B::Subscribe),
            ("[method]output-stream.check-write", B::CheckWrite),
            ("[method]output-stream.write", B::Write),
            ("[method]output-stream.blocking-write-and-flush", B::Write),
            ("[method]output-stream.flush", B::Flush),
            ("[method]output-stream.blocking-flush", B::Flush),
            ("[method]output-stream.subscribe", B::Subscribe),
            ("[method]output-stream.write-zeroes", B::WriteZeroes),
            (
                "[method]output-stream.blocking-write-zeroes-and-flush",
                B::WriteZeroes,
            ),
            ("[method]output-stream.splice", B::Closed),
            ("[method]output-stream.blocking-splice", B::Closed),
        ],
    },
];

/// An import the skill world does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the component imports `{import}`, which the skill world does not provide ({reason})")]
pub struct ImportRefused {
    /// The full name: `wasi:filesystem/preopens@0.2.6`, or with the
    /// function: `wasi:cli/environment@0.2.6#get-environment`.
    pub import: String,
    pub reason: String,
}

fn provided(id: &InterfaceIdentifier) -> Option<&'static Provided> {
    let package = id.package();
    let version = package
        .version()
        .map(|v| (v.major, v.minor))
        .unwrap_or((u64::MAX, 0));
    PROVIDED.iter().find(|p| {
        p.namespace == package.name().namespace()
            && p.package == package.name().name()
            && p.interface == id.name()
            && p.version == version
    })
}

fn reason_for(id: &InterfaceIdentifier) -> String {
    let package = id.package().name();
    let what = match (package.namespace(), package.name()) {
        ("wasi", "filesystem") => "skills have no filesystem",
        ("wasi", "sockets") | ("wasi", "http") => "skills have no network",
        ("wasi", "clocks") => "skills have no clock, so that equal inputs give equal outputs",
        ("wasi", "random") => "skills have no randomness, so that equal inputs give equal outputs",
        ("wasi", "cli") | ("wasi", "io") | ("llmos", "skill") => {
            "not an interface or version of the skill world (WASI 0.2, llmos:skill 0.1)"
        }
        _ => "skills import only the skill world",
    };
    what.to_owned()
}

/// Every import of `component` is one the host provides; else the first
/// that is not, by name.
pub fn check(component: &Component) -> Result<(), ImportRefused> {
    let root = component.imports().root();
    if let Some((name, _)) = root.funcs().next() {
        return Err(ImportRefused {
            import: name.to_owned(),
            reason: "skills import functions only through the skill world's interfaces".into(),
        });
    }
    if let Some((name, _)) = root.resources().next() {
        return Err(ImportRefused {
            import: name.to_owned(),
            reason: "skills import no resources of their own".into(),
        });
    }
    let mut instances: Vec<_> = component.imports().instances().collect();
    instances.sort_by_key(|(id, _)| id.to_string());
    for (id, instance) in instances {
        let Some(p) = provided(id) else {
            return Err(ImportRefused {
                import: id.to_string(),
                reason: reason_for(id),
            });
        };
        for (name, _) in instance.funcs() {
            if !p.functions.iter().any(|(f, _)| *f == name) {
                return Err(ImportRefused {
                    import: format!("{id}#{name}"),
                    reason: "the host does not provide this function".into(),
                });
            }
        }
        for (name, _) in instance.resources() {
            if !p.resources.contains(&name) {
                return Err(ImportRefused {
                    import: format!("{id}#{name}"),
                    reason: "the host does not provide this resource".into(),
                });
            }
        }
    }
    Ok(())
}

/// The representation of the host's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdin,
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy)]
struct Pollable;

#[derive(Debug, Clone, Copy)]
struct IoError;

#[derive(Debug, Clone, Copy)]
struct Terminal;

/// Replaces the component's abstract resource types in `ty` with the
/// host's. Types without resources are returned as they are.
fn substitute(ty: &ValueType, map: &[(ResourceType, ResourceType)]) -> Result<ValueType> {
    if !mentions_resource(ty) {
        return Ok(ty.clone());
    }
    let lookup = |r: &ResourceType| {
        map.iter()
            .find(|(from, _)| from == r)
            .map(|(_, to)| to.clone())
            .ok_or_else(|| anyhow!("a resource the host does not provide"))
    };
    Ok(match ty {
        ValueType::Own(r) => ValueType::Own(lookup(r)?),
        ValueType::Borrow(r) => ValueType::Borrow(lookup(r)?),
        ValueType::List(l) => ValueType::List(ListType::new(substitute(&l.element_ty(), map)?)),
        ValueType::Option(o) => ValueType::Option(wasm_component_layer::OptionType::new(
            substitute(&o.some_ty(), map)?,
        )),
        ValueType::Result(r) => ValueType::Result(wasm_component_layer::ResultType::new(
            r.ok_ty().map(|t| substitute(&t, map)).transpose()?,
            r.err_ty().map(|t| substitute(&t, map)).transpose()?,
        )),
        ValueType::Variant(v) => {
            let cases = v
                .cases()
                .iter()
                .map(|c| {
                    Ok(VariantCase::new(
                        c.name(),
                        c.ty().map(|t| substitute(&t, map)).transpose()?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            ValueType::Variant(VariantType::new(v.name().cloned(), cases)?)
        }
        ValueType::Tuple(t) => ValueType::Tuple(wasm_component_layer::TupleType::new(
            t.name().cloned(),
            t.fields()
                .iter()
                .map(|f| substitute(f, map))
                .collect::<Result<Vec<_>>>()?,
        )),
        other => bail!("resources inside {other} are not supported"),
    })
}

fn mentions_resource(ty: &ValueType) -> bool {
    match ty {
        ValueType::Own(_) | ValueType::Borrow(_) => true,
        ValueType::List(l) => mentions_resource(&l.element_ty()),
        ValueType::Option(o) => mentions_resource(&o.some_ty()),
        ValueType::Result(r) => {
            r.ok_ty().is_some_and(|t| mentions_resource(&t))
                || r.err_ty().is_some_and(|t| mentions_resource(&t))
        }
        ValueType::Variant(v) => v
            .cases()
            .iter()
            .any(|c| c.ty().is_some_and(|t| mentions_resource(&t))),
        ValueType::Tuple(t) => t.fields().iter().any(mentions_resource),
        ValueType::Record(r) => r.fields().any(|(_, t)| mentions_resource(&t)),
        _ => false,
    }
}

/// A linker for one store holding the host's side of every import of
/// `component` (which [`check`] accepted).
pub fn linker(store: &mut SkillStore, component: &Component) -> Result<Linker> {
    let mut linker = Linker::default();
    // The host's resource types, one per abstract resource the component
    // imports.
    let mut map: Vec<(ResourceType, ResourceType)> = Vec::new();
    let mut by_name: Vec<(String, ResourceType)> = Vec::new();
    for (id, instance) in component.imports().instances() {
        for (name, abstract_ty) in instance.resources() {
            let host = match name {
                "input-stream" | "output-stream" => ResourceType::new::<Stream>(None),
                "pollable" => ResourceType::new::<Pollable>(None),
                "error" => ResourceType::new::<IoError>(None),
                "terminal-input" | "terminal-output" => ResourceType::new::<Terminal>(None),
                other => bail!("no host resource `{other}`"),
            };
            instance_of(&mut linker, id)?.define_resource(name, host.clone())?;
            map.push((abstract_ty, host.clone()));
            by_name.push((name.to_owned(), host));
        }
    }
    let pollable_ty = by_name
        .iter()
        .find(|(n, _)| n == "pollable")
        .map(|(_, t)| t.clone());
    let stream_ty = |name: &str| {
        by_name
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    };
    for (id, instance) in component.imports().instances() {
        let p = provided(id).ok_or_else(|| anyhow!("`{id}` was not checked"))?;
        let mut funcs = Vec::new();
        for (name, ty) in instance.funcs() {
            let behaviour = p
                .functions
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, b)| *b)
                .ok_or_else(|| anyhow!("`{id}#{name}` was not checked"))?;
            let params = ty
                .params()
                .iter()
                .map(|t| substitute(t, &map))
                .collect::<Result<Vec<_>>>()?;
            let results = ty
                .results()
                .iter()
                .map(|t| substitute(t, &map))
                .collect::<Result<Vec<_>>>()?;
            let expected = FuncType::new(params, results);
            let resource = match behaviour {
                B::Stdin => stream_ty("input-stream"),
                B::Stdout | B::Stderr => stream_ty("output-stream"),
                B::Subscribe => pollable_ty.clone(),
                _ => None,
            };
            funcs.push((
                name.to_owned(),
                host_func(&mut *store, expected, behaviour, resource),
            ));
        }
        let target = instance_of(&mut linker, id)?;
        for (name, func) in funcs {
            target.define_func(name, func)?;
        }
    }
    Ok(linker)
}

fn instance_of<'a>(
    linker: &'a mut Linker,
    id: &InterfaceIdentifier,
) -> Result<&'a mut wasm_component_layer::LinkerInstance> {
    if linker.instance(id).is_none() {
        linker.define_instance(id.clone())?;
    }
    linker
        .instance_mut(id)
        .ok_or_else(|| anyhow!("`{id}` was just defined"))
}

/// `result` type helpers: the `ok` and `err` values of a WASI result.
fn ok(ty: &ValueType, value: Option<Value>) -> Result<Value> {
    let ValueType::Result(rt) = ty else {
        bail!("expected a result type, found {ty}");
    };
    Ok(Value::Result(ResultValue::new(rt.clone(), Ok(value))?))
}

/// `err(stream-error::closed)`.
fn closed(ty: &ValueType) -> Result<Value> {
    let ValueType::Result(rt) = ty else {
        bail!("expected a result type, found {ty}");
    };
    let Some(ValueType::Variant(vt)) = rt.err_ty() else {
        bail!("expected a stream-error");
    };
    let index = vt
        .cases()
        .iter()
        .position(|c| c.name() == "closed")
        .ok_or_else(|| anyhow!("stream-error has no `closed` case"))?;
    let err = Value::Variant(Variant::new(vt, index, None)?);
    Ok(Value::Result(ResultValue::new(rt.clone(), Err(Some(err)))?))
}

fn host_func(
    store: &mut SkillStore,
    ty: FuncType,
    behaviour: Behaviour,
    resource: Option<ResourceType>,
) -> Func {
    let results_ty: Vec<ValueType> = ty.results().to_vec();
    Func::new(store, ty, move |mut ctx, args, results| {
        let result_ty = results_ty.first();
        let mut result = |v: Value| -> Result<()> {
            let slot = results
                .first_mut()
                .ok_or_else(|| anyhow!("no result slot"))?;
            *slot = v;
            Ok(())
        };
        match behaviour {
            B::Log => {
                if let Some(Value::String(s)) = args.first() {
                    ctx.data_mut().log.push(s.as_bytes());
                    ctx.data_mut().log.push(b"\n");
                }
            }
            B::Environment => {
                let Some(ValueType::List(lt)) = result_ty else {
                    bail!("get-environment returns a list");
                };
                result(Value::List(List::new(lt.clone(), [])?))?;
            }
            B::Arguments => {
                let Some(ValueType::List(lt)) = result_ty else {
                    bail!("get-arguments returns a list");
                };
                result(Value::List(List::new(lt.clone(), [])?))?;
            }
            B::InitialCwd | B::NoTerminal => {
                let Some(ValueType::Option(ot)) = result_ty else {
                    bail!("expected an option result");
                };
                result(Value::Option(OptionValue::new(ot.clone(), None)?))?;
            }
            B::Exit | B::ExitWithCode => {
                let how = match (behaviour, args.first()) {
                    (B::ExitWithCode, Some(Value::U8(code))) => format!("with code {code}"),
                    (_, Some(Value::Result(r))) if r.is_err() => "with an error".to_owned(),
                    _ => "successfully".to_owned(),
                };
                ctx.data_mut().exited = Some(how.clone());
                bail!("the skill called exit {how}");
            }
            B::Stdin | B::Stdout | B::Stderr => {
                let which = match behaviour {
                    B::Stdin => Stream::Stdin,
                    B::Stdout => Stream::Stdout,
                    _ => Stream::Stderr,
                };
                let ty = resource.clone().ok_or_else(|| anyhow!("no stream type"))?;
                let own = ResourceOwn::new(&mut ctx, which, ty)?;
                result(Value::Own(own))?;
            }
            B::Subscribe => {
                let ty = resource
                    .clone()
                    .ok_or_else(|| anyhow!("no pollable type"))?;
                let own = ResourceOwn::new(&mut ctx, Pollable, ty)?;
                result(Value::Own(own))?;
            }
            B::CheckWrite => {
                let ty = result_ty.ok_or_else(|| anyhow!("no result type"))?;
                let room = ctx.data().log.room() as u64;
                // Never zero: a full log drops what is written, it does
                // not make the writer wait forever.
                result(ok(ty, Some(Value::U64(room.clamp(1, 4096))))?)?;
            }
            B::Write => {
                let ty = result_ty.ok_or_else(|| anyhow!("no result type"))?;
                if let (Some(Value::Borrow(stream)), Some(Value::List(bytes))) =
                    (args.first(), args.get(1))
                {
                    let which = *stream.rep::<Stream, _, _>(&ctx.as_context())?;
                    if which != Stream::Stdin {
                        let data: Vec<u8> = match bytes.typed::<u8>() {
                            Ok(b) => b.to_vec(),
                            Err(_) => bail!("write takes bytes"),
                        };
                        ctx.data_mut().log.push(&data);
                    }
                }
                result(ok(ty, None)?)?;
            }
            B::Flush | B::WriteZeroes => {
                let ty = result_ty.ok_or_else(|| anyhow!("no result type"))?;
                result(ok(ty, None)?)?;
            }
            B::Closed => {
                let ty = result_ty.ok_or_else(|| anyhow!("no result type"))?;
                result(closed(ty)?)?;
            }
            B::PollableReady => result(Value::Bool(true))?,
            B::PollableBlock => {}
            B::Poll => {
                let count = match args.first() {
                    Some(Value::List(l)) => l.len(),
                    _ => 0,
                };
                let Some(ValueType::List(lt)) = result_ty else {
                    bail!("poll returns a list");
                };
                let ready = (0..count).map(|i| Value::U32(i as u32));
                result(Value::List(List::new(lt.clone(), ready)?))?;
            }
            B::ErrorDebug => result(Value::String(Arc::from("")))?,
        }
        Ok(())
    })
}
