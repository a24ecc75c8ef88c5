import * as net from 'node:net';
import { HarnessError } from './errors';

/**
 * ZooKeeper's four-letter-word admin commands: write the word, read until the server closes.
 * A stopped (SIGSTOP) server accepts the TCP connection in the kernel but never answers, hence
 * the timeout.
 */
export function fourLetterWord(host: string, port: number, cmd: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HarnessError('TIMEOUT', `${cmd} to ${host}:${port}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.end(cmd));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

export type ServerMode = 'leader' | 'follower' | 'observer' | 'standalone' | 'read-only';

/** The `Mode:` of a `srvr`/`stat` answer; undefined while the server is not serving. */
export function parseMode(srvr: string): ServerMode | undefined {
  const m = /^Mode: (\S+)/m.exec(srvr);
  return m ? (m[1] as ServerMode) : undefined;
}

/** `mntr` answers "key<TAB>value" lines. */
export function parseMntr(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) out[line.slice(0, tab)] = line.slice(tab + 1).trim();
  }
  return out;
}
