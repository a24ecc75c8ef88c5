/**
 * For the commands that run until interrupted (watch, haproxy, dashboard): `stopped` resolves on
 * the first SIGINT or SIGTERM; `dispose()` removes the listeners (call it in a finally).
 */
export function untilSignal(): { readonly stopped: Promise<void>; dispose(): void } {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => { stop = resolve; });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    stopped,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
