#!/usr/bin/env node
'use strict';
/* global require, process, setInterval, clearInterval */
/* eslint-disable @typescript-eslint/no-require-imports */
// Detached watchdog started by integration/harness/processes.ts. It outlives a parent killed with
// SIGKILL (no 'exit' hook runs then) and SIGKILLs the processes the parent had registered in the
// state file, then removes the registered temp dirs. Plain JS so that it runs with bare `node`.
//   node reaper.js <parentPid> <stateFile>
// State file: {"pids":[{"pid":123,"start":"456"}],"dirs":["/tmp/..."]}; "start" is the process
// start time from /proc/<pid>/stat, so a recycled pid is never killed.
const fs = require('node:fs');
const path = require('node:path');

const parentPid = Number(process.argv[2]);
const stateFile = process.argv[3];
const POLL_MS = 200;

function startTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], start: fields[19] };
  } catch {
    return undefined;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

const parentStart = startTime(parentPid);

function parentGone() {
  if (!alive(parentPid)) return true;
  const now = startTime(parentPid);
  if (!now) return false; // no /proc: trust kill(0)
  if (now.state === 'Z' || now.state === 'X') return true;
  return parentStart !== undefined && now.start !== parentStart.start;
}

function readState() {
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    return undefined;
  }
}

function reap() {
  const state = readState() || { pids: [], dirs: [] };
  for (const entry of state.pids || []) {
    const now = startTime(entry.pid);
    if (entry.start && now && now.start !== entry.start) continue; // pid recycled
    try {
      process.kill(entry.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const dir of state.dirs || []) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
  try {
    fs.rmSync(path.dirname(stateFile), { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}

const timer = setInterval(() => {
  if (!fs.existsSync(stateFile)) {
    // The parent cleaned up after itself and removed our state: nothing left to do.
    clearInterval(timer);
    process.exit(0);
  }
  if (parentGone()) {
    clearInterval(timer);
    reap();
    process.exit(0);
  }
}, POLL_MS);
