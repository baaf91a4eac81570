//! The discrete-event executor deterministic runs use: one thread, virtual time, a timer
//! queue and a run queue of its own.
//!
//! tokio's paused clock gave the same guarantees, but it paid for generality on every event:
//! a timer wheel with millisecond slots (simulated time had to be stretched a thousandfold to
//! get microseconds), a clock that asks the runtime whether it is paused, wakers that go
//! through atomics and a driver park on every idle turn. Here a timer is a heap entry of three
//! integers naming the task it wakes, a wake-up is a push onto a queue, and time jumps straight
//! to the earliest timer when nothing is ready.
//!
//! Order is fixed by construction: ready tasks run first in, first out; timers fire in time
//! order, ties in the order they were set; every task woken at one instant is queued before
//! any of them runs. Same program, same order, on any machine.
//!
//! Timer deadlines are rounded up to whole microseconds ([`TIMER_RESOLUTION_NS`]), the
//! resolution the stretched tokio clock had, so the simulated times in spans keep the shape
//! they had (and tasks that meet at the same simulated microsecond still meet).

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// Timer deadlines are rounded up to this many nanoseconds.
pub const TIMER_RESOLUTION_NS: u64 = 1_000;

type TaskId = usize;
type Boxed = Pin<Box<dyn Future<Output = ()>>>;

/// Why a simulation could not run to the end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Another simulation is already running on this thread.
    #[error("a simulation is already running on this thread")]
    Nested,
    /// Tasks wait, but on nothing the simulation can fire: no timer is set and nothing is
    /// ready, so virtual time cannot move on.
    #[error(
        "the simulation stalled at {at_ns} ns: {waiting} task(s) wait on nothing that can fire"
    )]
    Stalled { at_ns: u64, waiting: usize },
}

/// Everything one simulation keeps, reachable from the tasks through a thread-local.
struct State {
    tasks: Vec<Option<Boxed>>,
    /// Per task, the token of the timer it waits on (0: none); a fired or cancelled timer
    /// whose token no longer matches is stale and is dropped without moving time.
    timer_token: Vec<u64>,
    timers: BinaryHeap<Reverse<(u64, u64, TaskId)>>,
    next_token: u64,
    ready: VecDeque<TaskId>,
    queued: Vec<bool>,
    /// Per task, whether it has yet to finish (its future is out of `tasks` while polled).
    alive: Vec<bool>,
    live: usize,
}

thread_local! {
    static NOW_NS: Cell<u64> = const { Cell::new(0) };
    static CURRENT: Cell<TaskId> = const { Cell::new(usize::MAX) };
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Wakes from outside the executor's own timers (a channel, a join handle): the task's id is
/// put in an inbox the executor drains before each turn. Such wakes are rare next to timers
/// and yields, so a flag spares the executor the inbox's lock on every turn.
#[derive(Default)]
struct Inbox {
    woken: AtomicBool,
    tasks: Mutex<Vec<TaskId>>,
}

struct TaskWake {
    task: TaskId,
    inbox: Arc<Inbox>,
}

impl Wake for TaskWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.inbox
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(self.task);
        self.inbox.woken.store(true, Ordering::Release);
    }
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        // Only reached from inside `block_on`, which installs the state first.
        let state = state
            .as_mut()
            .expect("swarm::sim used outside a simulation");
        f(state)
    })
}

fn enqueue(state: &mut State, task: TaskId) {
    if let Some(queued) = state.queued.get_mut(task) {
        if !*queued && state.alive[task] {
            *queued = true;
            state.ready.push_back(task);
        }
    }
}

/// The simulation's current time, ns since it began (0 outside one).
pub fn now_ns() -> u64 {
    NOW_NS.with(Cell::get)
}

/// Runs `main` and every task it spawns on virtual time, on this thread, until `main`
/// returns; tasks still waiting then are dropped. `main` itself may borrow (it is polled in
/// place, as task 0); what it spawns may not.
pub fn block_on<T>(main: impl Future<Output = T>) -> Result<T, SimError> {
    let fresh = State {
        tasks: Vec::new(),
        timer_token: Vec::new(),
        timers: BinaryHeap::new(),
        next_token: 1,
        ready: VecDeque::new(),
        queued: Vec::new(),
        alive: Vec::new(),
        live: 0,
    };
    let installed = STATE.with(|state| {
        let mut state = state.borrow_mut();
        if state.is_some() {
            return false;
        }
        *state = Some(fresh);
        true
    });
    if !installed {
        return Err(SimError::Nested);
    }
    NOW_NS.with(|now| now.set(0));
    let mut main = std::pin::pin!(main);
    let result = run_to_end(main.as_mut());
    // Drop what is left (tasks may own values whose drop reads the state) before removing it.
    let leftover = with_state(|state| std::mem::take(&mut state.tasks));
    drop(leftover);
    STATE.with(|state| state.borrow_mut().take());
    NOW_NS.with(|now| now.set(0));
    result
}

/// Task 0 is `main`, polled in place; every other task is boxed in the state.
const MAIN: TaskId = 0;

fn run_to_end<T>(mut main: Pin<&mut impl Future<Output = T>>) -> Result<T, SimError> {
    let inbox: Arc<Inbox> = Arc::default();
    let mut wakers: Vec<Option<Waker>> = Vec::new();
    // `main` is polled in place, so its slot holds no future.
    let main_task = with_state(|state| add_task(state, None));
    debug_assert_eq!(main_task, MAIN);
    loop {
        while let Some(task) = next_ready(&inbox) {
            if task != main_task {
                poll_task(task, &inbox, &mut wakers);
                continue;
            }
            let waker = waker_for(MAIN, &inbox, &mut wakers);
            let mut context = Context::from_waker(waker);
            let outer = CURRENT.with(|current| current.replace(MAIN));
            let poll = main.as_mut().poll(&mut context);
            CURRENT.with(|current| current.set(outer));
            if let Poll::Ready(value) = poll {
                return Ok(value);
            }
        }
        if !advance_time() {
            let waiting = with_state(|state| state.live);
            return Err(SimError::Stalled {
                at_ns: now_ns(),
                waiting,
            });
        }
    }
}

/// The waker of `task`, made on its first poll and kept.
fn waker_for<'a>(
    task: TaskId,
    inbox: &Arc<Inbox>,
    wakers: &'a mut Vec<Option<Waker>>,
) -> &'a Waker {
    if wakers.len() <= task {
        wakers.resize(task + 1, None);
    }
    wakers[task].get_or_insert_with(|| {
        Waker::from(Arc::new(TaskWake {
            task,
            inbox: Arc::clone(inbox),
        }))
    })
}

/// The next task to poll, taking in what outside wakers sent first.
fn next_ready(inbox: &Arc<Inbox>) -> Option<TaskId> {
    let woken = if inbox.woken.swap(false, Ordering::AcqRel) {
        std::mem::take(&mut *inbox.tasks.lock().unwrap_or_else(PoisonError::into_inner))
    } else {
        Vec::new()
    };
    with_state(|state| {
        for task in woken {
            enqueue(state, task);
        }
        let task = state.ready.pop_front()?;
        state.queued[task] = false;
        Some(task)
    })
}

fn poll_task(task: TaskId, inbox: &Arc<Inbox>, wakers: &mut Vec<Option<Waker>>) {
    let Some(mut future) = with_state(|state| state.tasks[task].take()) else {
        return;
    };
    let waker = waker_for(task, inbox, wakers);
    let mut context = Context::from_waker(waker);
    let outer = CURRENT.with(|current| current.replace(task));
    let poll = future.as_mut().poll(&mut context);
    CURRENT.with(|current| current.set(outer));
    match poll {
        Poll::Pending => with_state(|state| state.tasks[task] = Some(future)),
        Poll::Ready(()) => {
            wakers[task] = None;
            with_state(|state| {
                state.live -= 1;
                state.alive[task] = false;
                state.timer_token[task] = 0;
            });
            drop(future);
        }
    }
}

/// Moves time to the earliest live timer and queues every task due then, in the order their
/// timers were set. False when no live timer is left.
fn advance_time() -> bool {
    with_state(|state| {
        let mut due_at = None;
        while let Some(&Reverse((at_ns, token, task))) = state.timers.peek() {
            if due_at.is_some_and(|due| at_ns > due) {
                break;
            }
            state.timers.pop();
            if state.timer_token.get(task) != Some(&token) || !state.alive[task] {
                continue;
            }
            state.timer_token[task] = 0;
            due_at = Some(at_ns);
            NOW_NS.with(|now| now.set(now.get().max(at_ns)));
            enqueue(state, task);
        }
        due_at.is_some()
    })
}

/// A new live task, queued to run: its id is its position in every per-task table.
fn add_task(state: &mut State, future: Option<Boxed>) -> TaskId {
    let task = state.tasks.len();
    state.tasks.push(future);
    state.timer_token.push(0);
    state.queued.push(false);
    state.alive.push(true);
    state.live += 1;
    enqueue(state, task);
    task
}

fn spawn_boxed(future: Boxed) -> TaskId {
    with_state(|state| add_task(state, Some(future)))
}

/// The result of a spawned task, once it has one.
pub struct JoinHandle<T> {
    slot: Rc<RefCell<Slot<T>>>,
}

struct Slot<T> {
    value: Option<T>,
    waiter: Option<Waker>,
}

/// Starts `future` as a task of the running simulation (queued behind the ready ones).
pub fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    let slot = Rc::new(RefCell::new(Slot {
        value: None,
        waiter: None,
    }));
    let sink = Rc::clone(&slot);
    spawn_boxed(Box::pin(async move {
        let value = future.await;
        let waiter = {
            let mut slot = sink.borrow_mut();
            slot.value = Some(value);
            slot.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }));
    JoinHandle { slot }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.borrow_mut();
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waiter = Some(context.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Waits until simulated time `at_ns` (rounded up to [`TIMER_RESOLUTION_NS`]).
pub fn sleep_until(at_ns: u64) -> Sleep {
    Sleep {
        at_ns: at_ns.div_ceil(TIMER_RESOLUTION_NS) * TIMER_RESOLUTION_NS,
        task: usize::MAX,
        token: 0,
    }
}

/// A wait for a simulated time; dropping it before then cancels its timer.
pub struct Sleep {
    at_ns: u64,
    task: TaskId,
    token: u64,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<()> {
        if now_ns() >= self.at_ns {
            return Poll::Ready(());
        }
        if self.token == 0 {
            let task = CURRENT.with(Cell::get);
            let at_ns = self.at_ns;
            self.task = task;
            self.token = with_state(|state| {
                let token = state.next_token;
                state.next_token += 1;
                state.timer_token[task] = token;
                state.timers.push(Reverse((at_ns, token, task)));
                token
            });
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if self.token == 0 || now_ns() >= self.at_ns {
            return;
        }
        let (task, token) = (self.task, self.token);
        let _ = STATE.try_with(|state| {
            let Ok(mut state) = state.try_borrow_mut() else {
                return;
            };
            if let Some(waiting) = state
                .as_mut()
                .and_then(|state| state.timer_token.get_mut(task))
                .filter(|waiting| **waiting == token)
            {
                *waiting = 0;
            }
        });
    }
}

/// Lets every other ready task run before this one goes on.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// See [`yield_now`].
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.yielded, true) {
            return Poll::Ready(());
        }
        let task = CURRENT.with(Cell::get);
        with_state(|state| enqueue(state, task));
        Poll::Pending
    }
}

#[cfg(test)]
mod tests;
