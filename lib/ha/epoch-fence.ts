import type { MembershipSnapshot } from '../coordination';

export interface GenerationChange {
  readonly from: string;
  readonly to: string;
  /** The fence of the old generation, and where the new one starts. */
  readonly fenceBefore: number;
  readonly fenceAfter: number;
}

/**
 * The client's fence: responses from an epoch below it are refused (FENCED). It rises only from
 * epochs the client can verify in its own view — the sequence of the acknowledged primary —
 * never from a number that merely arrives in a response, and never from a record the view
 * rejected (such a record is not in the view). A response from a higher epoch is accepted but
 * does not raise it: one poisoned answer (epoch 2^52) must not fence out the real primary.
 *
 * Epochs are counted per generation of the service (its members node's czxid and ctime): when
 * ZooKeeper loses its data or members/ (or the whole service) is recreated, sequences restart, so
 * the fence restarts at the new generation's verified epoch.
 */
export class EpochFence {
  private fence = 0;
  private generationValue = '';

  /** `onRaise` hears every new fence value (a metric), including the reset of a new generation. */
  constructor(private readonly onRaise?: (epoch: number) => void) {}

  /** Responses below this epoch are refused. */
  get epoch(): number {
    return this.fence;
  }

  get generation(): string {
    return this.generationValue;
  }

  /** Takes in a snapshot of the client's view; returns the generation change it brought, if any. */
  observe(snapshot: MembershipSnapshot): GenerationChange | undefined {
    const generation = snapshot.generation;
    let from: string | undefined;
    let fenceBefore = 0;
    // '' = unknown (service node missing, or not told): keep the current generation.
    if (generation !== '' && generation !== this.generationValue) {
      if (this.generationValue !== '') {
        from = this.generationValue;
        fenceBefore = this.fence;
        this.fence = 0;
      }
      this.generationValue = generation;
    }
    this.raiseTo(snapshot.primary?.sequence);
    if (from === undefined) return undefined;
    if (this.fence === 0) this.onRaise?.(0);
    return { from, to: generation, fenceBefore, fenceAfter: this.fence };
  }

  /** Whether a response carrying `epoch` is accepted. */
  admits(epoch: number): boolean {
    return epoch >= this.fence;
  }

  private raiseTo(epoch: number | undefined): void {
    if (epoch === undefined || epoch <= this.fence) return;
    this.fence = epoch;
    this.onRaise?.(epoch);
  }
}
