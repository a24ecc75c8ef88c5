import { HaClient, RpcError } from '../../lib';

/** One loop of calls: the same method over and over. */
export interface LoopSpec {
  readonly method: string;
  readonly idempotent: boolean;
  readonly params: (n: number) => unknown;
  /** Keep the numeric `value` of every successful answer (the replicated counter's acknowledged values). */
  readonly track?: boolean;
}

export interface FailedCall {
  readonly method: string;
  readonly idempotent: boolean;
  readonly code: string;
  /** False = the call may have run: its outcome is unknown to the client. */
  readonly notExecuted: boolean;
  readonly message: string;
}

const now = (): number => performance.now();

/** What the client saw while one fault was injected and healed. */
export class FaultWindow {
  readonly startedAt = now();
  endedAt: number | undefined;
  calls = 0;
  ok = 0;
  readonly failed: FailedCall[] = [];
  /** Longest time without any successful call, counted from the last success before the fault. */
  maxGapMs = 0;
  /** First success from a primary of a higher epoch than before the fault (primary/backup). */
  newEpochAt: number | undefined;
  readonly failoverReportsMs: number[] = [];

  constructor(readonly name: string, readonly hard: boolean, readonly baseEpoch: number | undefined, private lastOkAt: number) {}

  noteOk(at: number, epoch: number | undefined): void {
    this.ok++;
    this.maxGapMs = Math.max(this.maxGapMs, at - this.lastOkAt);
    this.lastOkAt = at;
    if (this.newEpochAt === undefined && epoch !== undefined && this.baseEpoch !== undefined && epoch > this.baseEpoch) this.newEpochAt = at;
  }

  /** When the primary was hit; the window start unless the step says otherwise (rolling restart). */
  primaryHitAt = this.startedAt;

  /** Fault → first call answered by the new primary. */
  get newPrimaryMs(): number | undefined {
    return this.newEpochAt === undefined ? undefined : this.newEpochAt - this.primaryHitAt;
  }
}

/**
 * Concurrent call loops against one HaClient, with the counters the screen shows and the
 * per-fault windows the summary is made of.
 */
export class CallLoad {
  calls = 0;
  ok = 0;
  readonly okByMember = new Map<string, number>();
  readonly errorsByCode = new Map<string, number>();
  /** Failures outside any fault window (should stay empty). */
  readonly steadyFailures: FailedCall[] = [];
  lastEpoch: number | undefined;
  /** Epochs in the order the client first got an answer from them. */
  readonly epochs: number[] = [];
  /** Answers from an epoch lower than one already answered when the call was sent (the client fences these: must stay 0). */
  staleAnswers = 0;
  window: FaultWindow | undefined;
  /** Values acknowledged by loops with `track`, and how many calls those loops sent. */
  readonly trackedValues: number[] = [];
  trackedSent = 0;
  private lastOkAt = now();
  private readonly stopper = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(private readonly client: HaClient, private readonly specs: readonly LoopSpec[], private readonly pauseMs: number) {}

  start(): void {
    this.client.on('fault', (f) => { if (f.kind === 'failover' && f.durationMs !== undefined) this.window?.failoverReportsMs.push(f.durationMs); });
    this.loops = this.specs.map((spec) => this.loop(spec));
  }

  openWindow(name: string, hard: boolean): FaultWindow {
    this.window = new FaultWindow(name, hard, this.lastEpoch, this.lastOkAt);
    return this.window;
  }

  closeWindow(): FaultWindow | undefined {
    const w = this.window;
    if (w) w.endedAt = now();
    this.window = undefined;
    return w;
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await Promise.all(this.loops);
  }

  private async loop(spec: LoopSpec): Promise<void> {
    const signal = this.stopper.signal;
    for (let n = 0; !signal.aborted; n++) {
      this.calls++;
      if (this.window) this.window.calls++;
      const sentAfterEpoch = this.lastEpoch;
      if (spec.track) this.trackedSent++;
      try {
        const r = await this.client.callWithInfo(spec.method, spec.params(n), { idempotent: spec.idempotent, signal });
        const at = now();
        const value = (r.result as { value?: unknown } | undefined)?.value;
        if (spec.track && typeof value === 'number') this.trackedValues.push(value);
        this.ok++;
        this.okByMember.set(r.member, (this.okByMember.get(r.member) ?? 0) + 1);
        this.lastOkAt = at;
        if (r.epoch !== undefined) {
          // Answers complete out of order across loops, but none may come from an epoch below one already answered before it was sent.
          if (this.lastEpoch === undefined || r.epoch > this.lastEpoch) this.epochs.push(r.epoch);
          if (sentAfterEpoch !== undefined && r.epoch < sentAfterEpoch) this.staleAnswers++;
          this.lastEpoch = Math.max(r.epoch, this.lastEpoch ?? r.epoch);
        }
        this.window?.noteOk(at, r.epoch);
      } catch (error) {
        if (signal.aborted) break; // cancelled by stop(): not a failure of the service
        const e = error instanceof RpcError
          ? { code: error.code, notExecuted: error.notExecuted, message: error.message }
          : { code: 'INTERNAL', notExecuted: false, message: String(error) };
        this.errorsByCode.set(e.code, (this.errorsByCode.get(e.code) ?? 0) + 1);
        (this.window?.failed ?? this.steadyFailures).push({ method: spec.method, idempotent: spec.idempotent, ...e });
      }
      if (this.pauseMs > 0) await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }
}
