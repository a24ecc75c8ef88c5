import { Packr } from 'msgpackr';
import { describeUntrusted, truncateText } from '../base/untrusted';
import { DecodeLimits, scanFrame } from './frame-scan';
import { decodeScanned } from './value-decoder';

export type { DecodeLimits } from './frame-scan';

/**
 * Wire frames. One frame per ws binary message; each frame is a MessagePack array whose first
 * element is the frame type (arrays-as-tuples: smaller and faster than maps, and stateless,
 * unlike msgpackr records, so a dropped or garbage frame cannot corrupt later ones):
 *
 *   request  [0, id, method, params, timeoutMs, meta?]
 *   response [1, id, result, epoch?]
 *   error    [2, id, code, message, retryable, notExecuted, leaderHint?, data?]
 *   cancel   [3, id]
 *
 * Heartbeats use ws native ping/pong control frames. `id` is an unsigned integer < 2^32.
 * `timeoutMs` is the time the caller has left, relative (like gRPC's grpc-timeout), never a
 * wall-clock instant: the two hosts' clocks may disagree or step. The codec leaves its value to
 * the server, which answers a bad one with INVALID_ARGUMENT (nil: the server's default).
 */
export const FrameType = { REQUEST: 0, RESPONSE: 1, ERROR: 2, CANCEL: 3 } as const;
export type FrameTypeTag = (typeof FrameType)[keyof typeof FrameType];

export const MAX_CALL_ID = 0xffffffff;

export type RequestFrame = [0, number, string, unknown, unknown, Record<string, unknown>?];
export type ResponseFrame = [1, number, unknown, (number | undefined)?];
export type ErrorFrame = [2, number, string, string, boolean, boolean, (string | undefined)?, unknown?];
export type CancelFrame = [3, number];
export type Frame = RequestFrame | ResponseFrame | ErrorFrame | CancelFrame;

// One encoder per process; msgpackr hands out slices of a growing shared buffer that it never
// rewrites, so returned buffers stay valid after later packs.
const packr = new Packr({ useRecords: false, moreTypes: false });

/** Defaults of both ends: far above any sane call, far below what hurts a server. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({ maxElements: 100_000, maxDepth: 64 });

/** A frame that cannot be decoded or has the wrong shape; `id` is set when the call id was readable. */
export class FrameError extends Error {
  constructor(readonly reason: 'UNDECODABLE' | 'BAD_SHAPE' | 'TOO_COMPLEX', message: string, readonly id?: number, readonly type?: number) {
    super(message);
    this.name = 'FrameError';
  }
}

export function encodeRequest(id: number, method: string, params: unknown, timeoutMs: number, meta?: Record<string, unknown>): Buffer {
  return meta === undefined ? packr.pack([0, id, method, params, timeoutMs]) : packr.pack([0, id, method, params, timeoutMs, meta]);
}

export function encodeResponse(id: number, result: unknown, epoch: number | undefined): Buffer {
  return epoch === undefined ? packr.pack([1, id, result]) : packr.pack([1, id, result, epoch]);
}

export interface ErrorFields {
  code: string;
  message: string;
  retryable: boolean;
  notExecuted: boolean;
  leaderHint?: string;
  data?: unknown;
}

export function encodeError(id: number, e: ErrorFields): Buffer {
  if (e.data !== undefined) {
    return packr.pack([2, id, e.code, e.message, e.retryable, e.notExecuted, e.leaderHint, e.data]);
  }
  if (e.leaderHint !== undefined) return packr.pack([2, id, e.code, e.message, e.retryable, e.notExecuted, e.leaderHint]);
  return packr.pack([2, id, e.code, e.message, e.retryable, e.notExecuted]);
}

export function encodeCancel(id: number): Buffer {
  return packr.pack([3, id]);
}

function isCallId(v: unknown): v is number {
  return typeof v === 'number' && v >= 0 && v <= MAX_CALL_ID && Number.isInteger(v);
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/**
 * Decodes and validates one frame; throws FrameError (never anything else). The bytes are
 * scanned first (limits, allowed types), so nothing is built from a frame that breaks them.
 */
export function decodeFrame(data: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Frame {
  const problem = scanFrame(data, limits);
  if (problem !== undefined) {
    const header = peekHeader(data);
    const reason = problem.kind === 'too-complex' ? 'TOO_COMPLEX' : 'UNDECODABLE';
    throw new FrameError(reason, `${problem.kind === 'too-complex' ? 'frame too complex' : 'undecodable frame'}: ${problem.message}`, header?.id, header?.type);
  }
  let f: unknown;
  try {
    // Only frames the scan has passed get here: the decoder trusts their lengths.
    f = decodeScanned(data);
  } catch (err) {
    const header = peekHeader(data);
    // Keep the message short and printable whatever it quotes.
    const why = truncateText(String((err as Error)?.message ?? err), 120);
    throw new FrameError('UNDECODABLE', `undecodable frame: ${why}`, header?.id, header?.type);
  }
  if (!Array.isArray(f) || f.length < 2) throw new FrameError('BAD_SHAPE', 'frame is not an array [type, id, ...]');
  const type: unknown = f[0];
  const id: unknown = f[1];
  if (!isCallId(id)) throw new FrameError('BAD_SHAPE', 'frame has no valid call id', undefined, typeof type === 'number' ? type : undefined);
  switch (type) {
    case 0:
      if (f.length < 5 || f.length > 6) throw new FrameError('BAD_SHAPE', 'request frame must have 5 or 6 elements', id, 0);
      if (typeof f[2] !== 'string') throw new FrameError('BAD_SHAPE', 'request method must be a string', id, 0);
      if (f.length === 6 && f[5] !== undefined && f[5] !== null && !isPlainRecord(f[5])) {
        throw new FrameError('BAD_SHAPE', 'request meta must be a map', id, 0);
      }
      if (f.length === 6 && f[5] === null) f[5] = undefined;
      return f as RequestFrame;
    case 1:
      if (f.length < 3 || f.length > 4) throw new FrameError('BAD_SHAPE', 'response frame must have 3 or 4 elements', id, 1);
      if (f.length === 4 && f[3] !== undefined && f[3] !== null && typeof f[3] !== 'number') {
        throw new FrameError('BAD_SHAPE', 'response epoch must be a number', id, 1);
      }
      if (f.length === 4 && f[3] === null) f[3] = undefined;
      return f as ResponseFrame;
    case 2:
      if (f.length < 6 || f.length > 8) throw new FrameError('BAD_SHAPE', 'error frame must have 6 to 8 elements', id, 2);
      if (typeof f[2] !== 'string' || typeof f[3] !== 'string' || typeof f[4] !== 'boolean' || typeof f[5] !== 'boolean') {
        throw new FrameError('BAD_SHAPE', 'error frame fields have wrong types', id, 2);
      }
      if (f[6] !== undefined && f[6] !== null && typeof f[6] !== 'string') {
        throw new FrameError('BAD_SHAPE', 'error frame leaderHint must be a string', id, 2);
      }
      if (f[6] === null) f[6] = undefined;
      return f as ErrorFrame;
    case 3:
      if (f.length !== 2) throw new FrameError('BAD_SHAPE', 'cancel frame must have 2 elements', id, 3);
      return f as CancelFrame;
    default:
      throw new FrameError('BAD_SHAPE', `unknown frame type ${describeUntrusted(type)}`, id, typeof type === 'number' ? type : undefined);
  }
}

/**
 * Reads the frame type and call id from the first bytes of a frame without decoding the rest,
 * so that an oversized (or truncated) frame can still be answered for its call.
 */
export function peekHeader(buf: Uint8Array): { type: number; id: number } | undefined {
  let pos: number;
  const b0 = buf[0];
  if (b0 === undefined) return undefined;
  if (b0 >= 0x92 && b0 <= 0x9f) pos = 1;
  else if (b0 === 0xdc) pos = 3;
  else if (b0 === 0xdd) pos = 5;
  else return undefined;
  const type = buf[pos];
  if (type === undefined || type > 0x7f) return undefined;
  pos++;
  const t = buf[pos];
  if (t === undefined) return undefined;
  let id: number;
  if (t <= 0x7f) id = t;
  else if (t === 0xcc && buf.length >= pos + 2) id = buf[pos + 1]!;
  else if (t === 0xcd && buf.length >= pos + 3) id = (buf[pos + 1]! << 8) | buf[pos + 2]!;
  else if (t === 0xce && buf.length >= pos + 5) id = buf[pos + 1]! * 0x1000000 + ((buf[pos + 2]! << 16) | (buf[pos + 3]! << 8) | buf[pos + 4]!);
  else return undefined;
  return { type, id };
}
