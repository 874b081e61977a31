/** Start listening, turning the errors a user can fix (a port in use, a privileged port) into one line. */
import type { FastifyInstance } from 'fastify';
import { ExpectedError } from '../lib/errors.ts';

const explained: Record<string, string> = {
  EADDRINUSE: 'the port is already in use (another conveyor serve?): stop it, or choose another with --port or PORT',
  EACCES: 'permission denied (ports below 1024 need privileges): choose another with --port or PORT',
  EADDRNOTAVAIL: 'this machine has no such address: check --host or HOST',
};

export async function listen(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    const why = explained[(err as NodeJS.ErrnoException).code ?? ''];
    if (why) throw new ExpectedError(`cannot listen on ${host}:${port}: ${why}`, { cause: err });
    throw err;
  }
}
