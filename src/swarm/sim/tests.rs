//! The executor's ordering, cancellation, waking and failure rules.

use super::*;

// Proves timers fire in time order, ties in the order they were set, and that time
// jumps to each deadline (rounded up to the resolution) without waiting.
#[test]
fn timers_fire_in_time_then_setting_order() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&order);
    let finished_at = block_on(async move {
        let handles: Vec<_> = [(5_000, 'a'), (2_000, 'b'), (5_000, 'c'), (1, 'd')]
            .into_iter()
            .map(|(at, name)| {
                let log = Rc::clone(&log);
                spawn(async move {
                    sleep_until(at).await;
                    log.borrow_mut().push((name, now_ns()));
                })
            })
            .collect();
        for handle in handles {
            handle.await;
        }
        now_ns()
    });
    assert_eq!(finished_at, Ok(5_000));
    let expected = vec![('d', 1_000), ('b', 2_000), ('a', 5_000), ('c', 5_000)];
    assert_eq!(*order.borrow(), expected);
}

// Proves a cancelled timer does not move time: the select-like race below drops the
// far sleep, and the run ends at the near one's time.
#[test]
fn a_dropped_sleep_does_not_move_time() {
    let ended = block_on(async {
        let far = spawn(async {
            let far = sleep_until(1_000_000);
            drop(far);
            sleep_until(3_000).await;
        });
        {
            let mut pinned = std::pin::pin!(sleep_until(9_000_000));
            // Polled once so its timer is set, then dropped.
            let waker = Waker::noop();
            let _ = pinned.as_mut().poll(&mut Context::from_waker(waker));
        }
        far.await;
        now_ns()
    });
    assert_eq!(ended, Ok(3_000));
}

// Proves a yield lets every other ready task run first, and a wake through a waker
// (a channel) reaches a task waiting on no timer.
#[test]
fn yields_and_channel_wakes_run_in_queue_order() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let (log_a, log_b) = (Rc::clone(&order), Rc::clone(&order));
    let result = block_on(async move {
        let (send, mut receive) = tokio::sync::watch::channel(false);
        let a = spawn(async move {
            log_a.borrow_mut().push("a1");
            yield_now().await;
            log_a.borrow_mut().push("a2");
            let _ = receive.changed().await;
            log_a.borrow_mut().push("a3");
        });
        let b = spawn(async move {
            log_b.borrow_mut().push("b1");
            sleep_until(10_000).await;
            let _ = send.send(true);
        });
        a.await;
        b.await;
        now_ns()
    });
    assert_eq!(result, Ok(10_000));
    assert_eq!(*order.borrow(), vec!["a1", "b1", "a2", "a3"]);
}

// Proves a run whose tasks wait on nothing that can fire ends with an error, not a hang,
// and that a simulation refuses to start inside another.
#[test]
fn stalls_and_nesting_are_errors() {
    let stalled = block_on(async {
        let (_keep, mut receive) = tokio::sync::watch::channel(false);
        let _ = receive.changed().await;
    });
    assert_eq!(
        stalled,
        Err(SimError::Stalled {
            at_ns: 0,
            waiting: 1
        })
    );
    let nested = block_on(async { block_on(async {}) });
    assert_eq!(nested, Ok(Err(SimError::Nested)));
}
