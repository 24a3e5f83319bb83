//! Lanes: a dedicated Web Worker running skill code, fed one job at a time
//! from a queue, with a load deadline, a per-job timeout and a way to kill
//! the worker mid-job and start a fresh one.
//!
//! The page talks to a worker only over a `MessageChannel` port it
//! transfers when the worker starts (see `frontend/js/sandbox.js` for the
//! worker's side and the message shapes). A worker that is replaced may
//! still have messages in flight; every callback carries the generation of
//! the worker it belongs to and messages from older generations are
//! dropped.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::Duration;

use js_sys::{Array, Function, Object, Promise, Reflect};
use sycamore::prelude::Signal;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ErrorEvent, MessageChannel, MessageEvent, MessagePort, Worker, WorkerOptions, WorkerType,
};

use super::RuntimeStatus;

/// What happens to a lane after its worker has been killed (stopped, timed
/// out or crashed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Respawn {
    /// Start a fresh worker at once, so it is warm for the next run.
    Eager,
    /// Start one when the next job arrives.
    Lazy,
    /// Never: the lane served one job (a fresh worker per run).
    Never,
}

/// A kind of worker.
#[derive(Debug, Clone, Copy)]
pub struct LaneSpec {
    /// The worker script, served by the app.
    pub script: &'static str,
    /// The runtime's name in messages ("Python").
    pub name: &'static str,
    /// How long the runtime may take to load before the lane gives up.
    pub load_timeout: Duration,
    pub respawn: Respawn,
}

/// The worker's answer to one job.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The outputs as JSON text, when the run succeeded.
    pub outputs: Option<String>,
    /// `"<Type>: <message>"`, when it failed.
    pub error: Option<String>,
    pub log: String,
    /// The component worker's whole answer (JSON text), which carries its
    /// outputs, log or error itself.
    pub answer: Option<String>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Reply(Reply),
    /// Killed by [`Lane::stop`].
    Stopped,
    /// Killed when it overran its timeout.
    TimedOut(Duration),
    /// The runtime could not be loaded.
    Unavailable(String),
    /// The worker died while running the job.
    Crashed(String),
}

/// Resolves the future a caller of [`Lane::submit`] awaits.
struct Completion {
    slot: Rc<RefCell<Option<Outcome>>>,
    resolve: Function,
}

impl Completion {
    fn new() -> (Completion, impl Future<Output = Outcome>) {
        let mut resolve = None;
        let promise = Promise::new(&mut |res, _rej| resolve = Some(res));
        let slot = Rc::new(RefCell::new(None));
        let completion = Completion {
            slot: slot.clone(),
            resolve: resolve.expect("the Promise executor runs synchronously"),
        };
        let wait = async move {
            // The promise only ever resolves, with no value; the outcome
            // travels through the slot.
            let _ = JsFuture::from(promise).await;
            let outcome = slot.borrow_mut().take();
            outcome.unwrap_or_else(|| Outcome::Crashed("the run ended without an outcome".into()))
        };
        (completion, wait)
    }

    /// Hands over the outcome. Resolving a promise only queues a microtask,
    /// so this never re-enters the lane.
    fn finish(self, outcome: Outcome) {
        *self.slot.borrow_mut() = Some(outcome);
        let _ = self.resolve.call0(&JsValue::UNDEFINED);
    }
}

/// A `setTimeout` that is cleared when dropped.
struct Timer {
    id: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    fn start(after: Duration, callback: impl FnMut() + 'static) -> Option<Timer> {
        let callback = Closure::<dyn FnMut()>::new(callback);
        // setTimeout takes an i32 of milliseconds; longer waits are capped.
        let ms = i32::try_from(after.as_millis()).unwrap_or(i32::MAX);
        let id = web_sys::window()?
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                callback.as_ref().unchecked_ref(),
                ms,
            )
            .ok()?;
        Some(Timer {
            id,
            _callback: callback,
        })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            window.clear_timeout_with_handle(self.id);
        }
    }
}

/// A started worker. Dropping it terminates the worker.
struct Live {
    worker: Worker,
    port: MessagePort,
    _load_timer: Option<Timer>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.port.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

struct Job {
    id: u64,
    node_id: String,
    message: Object,
    timeout: Duration,
    done: Completion,
}

struct Running {
    job: Job,
    _timer: Option<Timer>,
}

struct State {
    spec: LaneSpec,
    /// Fields added to every worker's connect message.
    connect: Option<JsValue>,
    status: RuntimeStatus,
    status_signal: Option<Signal<RuntimeStatus>>,
    live: Option<Live>,
    generation: u64,
    queue: VecDeque<Job>,
    running: Option<Running>,
    next_id: u64,
}

/// One worker and its queue of jobs. Cheap to clone.
#[derive(Clone)]
pub struct Lane(Rc<RefCell<State>>);

impl Lane {
    /// A lane whose worker starts now if `spec.respawn` is
    /// [`Respawn::Eager`], else with its first job. `status_signal`, if
    /// given, follows the runtime's state.
    pub fn new(spec: LaneSpec, status_signal: Option<Signal<RuntimeStatus>>) -> Lane {
        Lane::with_connect(spec, status_signal, None)
    }

    /// [`Lane::new`], whose workers also receive the properties of
    /// `connect` in their connect message (the component worker's compiled
    /// module).
    pub fn with_connect(
        spec: LaneSpec,
        status_signal: Option<Signal<RuntimeStatus>>,
        connect: Option<JsValue>,
    ) -> Lane {
        let lane = Lane(Rc::new(RefCell::new(State {
            spec,
            connect,
            status: RuntimeStatus::Loading,
            status_signal,
            live: None,
            generation: 0,
            queue: VecDeque::new(),
            running: None,
            next_id: 0,
        })));
        if spec.respawn == Respawn::Eager {
            lane.spawn();
        }
        lane
    }

    /// Queues a job for `node_id`. `fields` are added to the run message
    /// (`{type: "run", id, ...fields}`); `timeout` counts from the moment
    /// the worker receives the job.
    pub fn submit(
        &self,
        node_id: &str,
        fields: &[(&str, &str)],
        timeout: Duration,
    ) -> impl Future<Output = Outcome> + use<> {
        let fields: Vec<(&str, JsValue)> = fields
            .iter()
            .map(|(key, value)| (*key, JsValue::from_str(value)))
            .collect();
        self.submit_values(node_id, &fields, timeout)
    }

    /// [`Lane::submit`] with fields of any JS value (a component's bytes
    /// as a `Uint8Array`, which the message copies).
    pub fn submit_values(
        &self,
        node_id: &str,
        fields: &[(&str, JsValue)],
        timeout: Duration,
    ) -> impl Future<Output = Outcome> + use<> {
        let (done, wait) = Completion::new();
        let message = Object::new();
        let mut state = self.0.borrow_mut();
        state.next_id += 1;
        let id = state.next_id;
        set(&message, "type", &"run".into());
        set(&message, "id", &JsValue::from_f64(id as f64));
        for (key, value) in fields {
            set(&message, key, value);
        }
        state.queue.push_back(Job {
            id,
            node_id: node_id.to_owned(),
            message,
            timeout,
            done,
        });
        let idle = state.live.is_none();
        drop(state);
        if idle {
            self.spawn();
        }
        self.pump();
        wait
    }

    /// Kills the job of `node_id` (queued or running); a running one takes
    /// its worker with it, and a fresh worker replaces it as the lane's
    /// [`Respawn`] says. Returns whether there was such a job.
    pub fn stop(&self, node_id: &str) -> bool {
        let mut state = self.0.borrow_mut();
        let mut stopped = false;
        let queued = std::mem::take(&mut state.queue);
        for job in queued {
            if job.node_id == node_id {
                job.done.finish(Outcome::Stopped);
                stopped = true;
            } else {
                state.queue.push_back(job);
            }
        }
        let running_here = state
            .running
            .as_ref()
            .is_some_and(|r| r.job.node_id == node_id);
        drop(state);
        if running_here {
            self.kill_running(Outcome::Stopped);
            stopped = true;
        }
        stopped
    }

    /// Which worker the lane has: it changes whenever the worker is
    /// replaced, so a caller can tell whether what it sent an earlier
    /// worker is still there.
    pub fn generation(&self) -> u64 {
        self.0.borrow().generation
    }

    /// Whether the lane has no job queued or running.
    pub fn is_idle(&self) -> bool {
        let state = self.0.borrow();
        state.queue.is_empty() && state.running.is_none()
    }

    fn weak(&self) -> Weak<RefCell<State>> {
        Rc::downgrade(&self.0)
    }

    /// Starts a worker (replacing any) and reports the runtime as loading.
    fn spawn(&self) {
        let mut state = self.0.borrow_mut();
        state.retire();
        let generation = state.generation;
        let spec = state.spec;
        let connect = state.connect.clone();
        let weak = self.weak();
        match start_worker(spec, connect.as_ref(), weak, generation) {
            Ok(live) => {
                state.live = Some(live);
                drop(state);
                self.set_status(RuntimeStatus::Loading);
            }
            Err(message) => {
                drop(state);
                self.fail(message);
            }
        }
    }

    fn set_status(&self, status: RuntimeStatus) {
        let mut state = self.0.borrow_mut();
        if state.status == status {
            return;
        }
        state.status = status.clone();
        if let Some(signal) = state.status_signal {
            // Outside this borrow: effects that follow the signal may call
            // back into the lane.
            wasm_bindgen_futures::spawn_local(async move { signal.set(status) });
        }
    }

    /// Hands the next job to the worker if it is ready and free.
    fn pump(&self) {
        let mut state = self.0.borrow_mut();
        if state.running.is_some() || state.status != RuntimeStatus::Ready {
            return;
        }
        let Some(live) = state.live.as_ref() else {
            return;
        };
        let port = live.port.clone();
        let generation = state.generation;
        let Some(job) = state.queue.pop_front() else {
            return;
        };
        if let Err(err) = port.post_message(&job.message) {
            job.done.finish(Outcome::Crashed(format!(
                "could not send the run to the worker: {}",
                describe(&err)
            )));
            return;
        }
        let weak = self.weak();
        let (id, timeout) = (job.id, job.timeout);
        let timer = Timer::start(timeout, move || {
            if let Some(lane) = upgrade(&weak, generation) {
                lane.on_timeout(id);
            }
        });
        state.running = Some(Running { job, _timer: timer });
    }

    fn on_timeout(&self, id: u64) {
        let current = self
            .0
            .borrow()
            .running
            .as_ref()
            .map(|r| (r.job.id, r.job.timeout));
        if let Some((running, timeout)) = current
            && running == id
        {
            self.kill_running(Outcome::TimedOut(timeout));
        }
    }

    /// Ends the running job with `outcome`, terminates its worker and
    /// replaces it as the spec says.
    fn kill_running(&self, outcome: Outcome) {
        let mut state = self.0.borrow_mut();
        let running = state.running.take();
        state.retire();
        let respawn = state.spec.respawn;
        let waiting = !state.queue.is_empty();
        drop(state);
        if let Some(running) = running {
            running.job.done.finish(outcome);
        }
        match respawn {
            Respawn::Eager => self.spawn(),
            Respawn::Lazy | Respawn::Never if waiting => self.spawn(),
            Respawn::Lazy | Respawn::Never => {}
        }
    }

    /// The runtime cannot load: every job fails, and the next job tries a
    /// fresh worker.
    fn fail(&self, message: String) {
        let mut state = self.0.borrow_mut();
        state.retire();
        let queued = std::mem::take(&mut state.queue);
        let running = state.running.take();
        drop(state);
        self.set_status(RuntimeStatus::Failed(message.clone()));
        for job in queued {
            job.done.finish(Outcome::Unavailable(message.clone()));
        }
        if let Some(running) = running {
            running.job.done.finish(Outcome::Crashed(message));
        }
    }

    fn on_message(&self, data: JsValue) {
        let kind = get_string(&data, "type").unwrap_or_default();
        match kind.as_str() {
            "ready" => {
                if let Some(live) = self.0.borrow_mut().live.as_mut() {
                    live._load_timer = None;
                }
                self.set_status(RuntimeStatus::Ready);
                self.pump();
            }
            "failed" => {
                let error =
                    get_string(&data, "error").unwrap_or_else(|| "the runtime did not load".into());
                self.fail(error);
            }
            "done" => {
                let id = Reflect::get(&data, &"id".into())
                    .ok()
                    .and_then(|v| v.as_f64());
                let mut state = self.0.borrow_mut();
                let matches = state
                    .running
                    .as_ref()
                    .is_some_and(|r| Some(r.job.id as f64) == id);
                if !matches {
                    return;
                }
                let running = state.running.take().expect("checked above");
                if state.spec.respawn == Respawn::Never {
                    state.retire();
                }
                drop(state);
                running.job.done.finish(Outcome::Reply(Reply {
                    outputs: get_string(&data, "outputs"),
                    error: get_string(&data, "error"),
                    log: get_string(&data, "log").unwrap_or_default(),
                    answer: get_string(&data, "answer"),
                }));
                self.pump();
            }
            _ => {}
        }
    }

    fn on_error(&self, message: String) {
        let (loading, running) = {
            let state = self.0.borrow();
            (
                state.status == RuntimeStatus::Loading,
                state.running.is_some(),
            )
        };
        if running {
            self.kill_running(Outcome::Crashed(message));
        } else if loading {
            self.fail(message);
        }
    }

    fn on_load_timeout(&self) {
        let (loading, spec) = {
            let state = self.0.borrow();
            (state.status == RuntimeStatus::Loading, state.spec)
        };
        if loading {
            self.fail(format!(
                "{} did not start within {} s",
                spec.name,
                spec.load_timeout.as_secs()
            ));
        }
    }
}

impl State {
    /// Terminates the current worker; callbacks still in flight from it
    /// are ignored from now on.
    fn retire(&mut self) {
        self.live = None;
        self.generation += 1;
    }
}

/// The lane a callback of worker `generation` belongs to, if that worker
/// is still the lane's current one.
fn upgrade(weak: &Weak<RefCell<State>>, generation: u64) -> Option<Lane> {
    let state = weak.upgrade()?;
    let current = state.borrow().generation == generation;
    current.then_some(Lane(state))
}

fn start_worker(
    spec: LaneSpec,
    extra: Option<&JsValue>,
    weak: Weak<RefCell<State>>,
    generation: u64,
) -> Result<Live, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name(spec.name);
    let worker = Worker::new_with_options(spec.script, &options).map_err(|err| {
        format!(
            "could not start the {} worker: {}",
            spec.name,
            describe(&err)
        )
    })?;
    let channel = MessageChannel::new().map_err(|err| describe(&err))?;

    let on_message = {
        let weak = weak.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(lane) = upgrade(&weak, generation) {
                lane.on_message(event.data());
            }
        })
    };
    let on_error = {
        let weak = weak.clone();
        let name = spec.name;
        Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            if let Some(lane) = upgrade(&weak, generation) {
                let detail = event.message();
                let detail = if detail.is_empty() {
                    "its script failed to load".to_owned()
                } else {
                    detail
                };
                lane.on_error(format!("the {name} worker failed: {detail}"));
            }
        })
    };
    let port = channel.port1();
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));

    let connect = Object::new();
    if let Some(extra) = extra.and_then(|e| e.dyn_ref::<Object>()) {
        Object::assign(&connect, extra);
    }
    set(&connect, "type", &"connect".into());
    worker
        .post_message_with_transfer(&connect, &Array::of1(&channel.port2()))
        .map_err(|err| describe(&err))?;

    let load_timer = Timer::start(spec.load_timeout, move || {
        if let Some(lane) = upgrade(&weak, generation) {
            lane.on_load_timeout();
        }
    });
    Ok(Live {
        worker,
        port,
        _load_timer: load_timer,
        _on_message: on_message,
        _on_error: on_error,
    })
}

fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(object, &key.into(), value);
}

fn get_string(object: &JsValue, key: &str) -> Option<String> {
    Reflect::get(object, &key.into()).ok()?.as_string()
}

/// A readable message for a thrown JS value.
pub fn describe(err: &JsValue) -> String {
    if let Some(text) = err.as_string() {
        return text;
    }
    if let Some(error) = err.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", error.name(), error.message());
    }
    js_sys::JSON::stringify(err)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "unknown browser error".into())
}
