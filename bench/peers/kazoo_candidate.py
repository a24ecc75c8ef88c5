"""One kazoo Election candidate in its own process, for bench/failover.ts.

    python3 kazoo_candidate.py <connect> <electionPath> <sessionTimeoutMs> <id>

Prints JSON lines {"event": ..., "t": "<time.monotonic_ns()>", ...} on stdout. monotonic_ns() is
clock_gettime(CLOCK_MONOTONIC) on Linux, the clock of node's process.hrtime.bigint().
stdin commands: "leave" (leave the election, close the session, exit), "ping".

kazoo's Election.run(func) blocks in Lock.acquire until elected, calls func while leader, and
releases the lock when func returns. kazoo itself never tells func that leadership is gone: the
Lock docs ask the user to watch the connection state. So, as a careful user would:
  SUSPENDED -> stop acting as leader ("demoted"): the session may expire at any moment;
  CONNECTED again with the same session -> the lock node still exists: lead again ("elected");
  LOST -> the lock is gone: leave func, which releases (no-op) and re-enters the election.
"""
import json
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState

connect, path, timeout_ms, ident = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
out_lock = threading.Lock()


def emit(event, **fields):
    line = json.dumps(dict(event=event, t=str(time.monotonic_ns()), **fields))
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


zk = KazooClient(
    hosts=connect,
    timeout=timeout_ms / 1000.0,
    connection_retry=dict(max_tries=-1, delay=0.05, backoff=2, max_delay=1),
    command_retry=dict(max_tries=-1, delay=0.05, backoff=2, max_delay=1),
)

state_lock = threading.Lock()
in_leader_func = False  # between the lock being acquired and func returning
acting = False  # what this process believes: "I am the leader"
lost = threading.Event()
leaving = threading.Event()


def on_state(state):
    global acting
    emit("state", state=str(state))
    with state_lock:
        if state in (KazooState.SUSPENDED, KazooState.LOST):
            if acting:
                acting = False
                emit("demoted", id=ident, reason=str(state))
            if state == KazooState.LOST:
                lost.set()
        elif state == KazooState.CONNECTED and in_leader_func and not lost.is_set() and not acting:
            acting = True
            emit("elected", id=ident, reason="reconnected")
    return False  # keep listening


def lead():
    global in_leader_func, acting
    with state_lock:
        in_leader_func = True
        if zk.state == KazooState.CONNECTED and not lost.is_set():
            acting = True
            emit("elected", id=ident)
    while not lost.is_set() and not leaving.is_set():
        time.sleep(0.005)
    with state_lock:
        in_leader_func = False
        if acting:
            acting = False
            emit("demoted", id=ident, reason="leaving" if leaving.is_set() else "lost")


def announce_ready(election):
    while not leaving.is_set():
        try:
            if ident in election.contenders():
                emit("ready")
                return
        except Exception:  # connection trouble: try again
            pass
        time.sleep(0.02)


def campaign():
    while not leaving.is_set():
        lost.clear()
        election = zk.Election(path, ident)
        threading.Thread(target=announce_ready, args=(election,), daemon=True).start()
        try:
            election.run(lead)
        except Exception as error:  # e.g. the session expired during acquire: run again
            emit("error", error=repr(error))
            time.sleep(0.05)


def commands():
    for line in sys.stdin:
        if "leave" in line:
            leaving.set()
            return
        if "ping" in line:
            emit("pong")
    leaving.set()  # stdin closed: the bench is gone


zk.add_listener(on_state)
zk.start(timeout=30)
worker = threading.Thread(target=campaign, daemon=True)
worker.start()
commands()
worker.join(timeout=5)  # lead() returns, Election.run releases the lock (deletes our node)
zk.stop()
zk.close()
emit("left")
