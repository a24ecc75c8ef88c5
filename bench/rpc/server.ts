// Child process: starts one transport's echo server and reports its port over IPC; on
// { cpu: true } it answers its CPU time so far (process.cpuUsage, µs).
import { startServer, TransportName } from './transports';

void (async () => {
  const port = await startServer(process.argv[2] as TransportName);
  process.on('message', (m: { cpu?: boolean }) => {
    if (m.cpu) process.send?.({ cpu: process.cpuUsage() });
  });
  process.send?.({ port });
  process.on('disconnect', () => process.exit(0));
})();
