import { createServer } from 'node:net';

/**
 * A port that is free now: the OS picks it (listen on port 0), then it is released for the caller.
 * For an endpoint that must be known before the server starts (SDK clients read it when created).
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
