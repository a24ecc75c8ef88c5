import { InvalidOptionError } from '../base/errors';
import { integerInRange, positiveNumber } from '../base/options';
import type { DecodeLimits } from './frame-scan';

/**
 * The options both ends of a connection share, validated in one place so that the client and
 * the server accept and reject the same values with the same messages.
 */
export const MiB = 1024 * 1024;

export interface LivenessOptions {
  /** Ping when idle this often. Default 5000. */
  heartbeatMs?: number;
  /** Declare the connection dead after this long without any traffic. Default 3 x heartbeatMs. */
  heartbeatTimeoutMs?: number;
}

export interface LivenessLimits {
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
}

export function livenessLimits(opts: LivenessOptions): LivenessLimits {
  const heartbeatMs = positiveNumber('heartbeatMs', opts.heartbeatMs, 5000);
  const heartbeatTimeoutMs = positiveNumber('heartbeatTimeoutMs', opts.heartbeatTimeoutMs, 3 * heartbeatMs);
  if (heartbeatTimeoutMs <= heartbeatMs) {
    throw new InvalidOptionError('heartbeatTimeoutMs', `must be greater than heartbeatMs (${heartbeatMs})`);
  }
  return { heartbeatMs, heartbeatTimeoutMs };
}

/** How often a liveness check runs: often enough to notice a timeout within a third of it. */
export function livenessTickMs(l: LivenessLimits): number {
  return Math.max(10, Math.min(l.heartbeatMs, l.heartbeatTimeoutMs / 3));
}

/** A frame over this fails its call only (PAYLOAD_TOO_LARGE). Default 4 MiB. */
export function maxFrameBytesOption(value: unknown): number {
  return integerInRange('maxFrameBytes', value, 64, 1024 * MiB, 4 * MiB);
}

/** ws closes the socket on a frame over this (a memory guard above maxFrameBytes). */
export function defaultHardMaxFrameBytes(maxFrameBytes: number): number {
  return Math.max(4 * maxFrameBytes, maxFrameBytes + MiB);
}

/**
 * At least the socket's own high-water mark (16 KiB), so that going over it means a 'drain'
 * will come.
 */
export function highWaterMarkOption(value: unknown, fallback: number): number {
  return integerInRange('highWaterMarkBytes', value, 16 * 1024, 1e12, fallback);
}

export interface DecodeLimitOptions {
  /** Values (array items, map keys and values; an array or map counts 8) one frame may hold; checked before decoding. Default 100 000. */
  maxFrameElements?: number;
  /** Levels of nested arrays/maps one frame may hold; checked before decoding. Default 64. */
  maxFrameDepth?: number;
}

export function decodeLimits(opts: DecodeLimitOptions): DecodeLimits {
  return Object.freeze({
    maxElements: integerInRange('maxFrameElements', opts.maxFrameElements, 16, 1e8, 100_000),
    maxDepth: integerInRange('maxFrameDepth', opts.maxFrameDepth, 4, 1000, 64),
  });
}
