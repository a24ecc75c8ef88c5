// Child process: starts one transport's echo server and reports its port over IPC.
import { startServer, TransportName } from './transports';

void (async () => {
  const port = await startServer(process.argv[2] as TransportName);
  process.send?.({ port });
  process.on('disconnect', () => process.exit(0));
})();
