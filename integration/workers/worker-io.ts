import { createInterface } from 'readline';

/** Helpers for worker scripts: print an event line, read command lines. */
export function emit(event: string, fields: object = {}): void {
  process.stdout.write(`${JSON.stringify({ event, t: process.hrtime.bigint().toString(), ...fields })}\n`);
}

export function onCommand(handler: (command: Record<string, unknown>) => void | Promise<void>): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    try {
      void handler(JSON.parse(line) as Record<string, unknown>);
    } catch (error) {
      emit('bad-command', { error: String(error) });
    }
  });
}
