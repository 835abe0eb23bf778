import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

// Descriptors kept out of the connection budget: the vault, the audit log and its lock, stdio, the event loop's own.
const RESERVED_FDS = 64;
const FALLBACK_FD_LIMIT = 1024;

/**
 * The soft limit on open files of this process (`RLIMIT_NOFILE`), from `/proc/self/limits` where there is one.
 * Elsewhere 1,024, a common default (Node raises its own soft limit to the hard one at start-up on macOS).
 */
export function openFileLimit(): number {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(text)?.[1];
    if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
    if (soft !== undefined) return Number(soft);
  } catch {
    // not Linux
  }
  return FALLBACK_FD_LIMIT;
}

/**
 * The most client connections to hold at once: each may need a second descriptor for its upstream connection, and
 * some descriptors stay reserved, so accepting never runs the process out of them. At most 4,096.
 */
export function defaultConnectionCap(fdLimit = openFileLimit()): number {
  return Math.max(16, Math.min(4096, Math.floor((fdLimit - RESERVED_FDS) / 2)));
}

/**
 * Caps the server's client connections at `max` without starving new callers. A connection is busy while a request
 * on it is being answered; the others are idle (keep-alive between requests, or a request head still arriving, as
 * a slowloris client keeps it). At the cap, a new connection closes the longest-held idle one; when every held
 * connection is busy the new one is closed instead. Many idle connections therefore cost an attacker their own
 * connections, not `/health` or an agent's next call. Returns the number of connections held, for tests.
 */
export function capConnections(server: Server, max: number): () => number {
  // Insertion order is age order: the first idle entry is the longest held.
  const held = new Map<Socket, { busy: number }>();
  server.on('connection', (socket: Socket) => {
    if (held.size >= max) {
      let victim: Socket | undefined;
      for (const [s, state] of held) {
        if (state.busy === 0) {
          victim = s;
          break;
        }
      }
      if (victim === undefined) {
        socket.destroy();
        return;
      }
      held.delete(victim);
      victim.destroy();
    }
    held.set(socket, { busy: 0 });
    socket.once('close', () => held.delete(socket));
  });
  server.on('request', (req, res) => {
    const state = held.get(req.socket);
    if (state === undefined) return;
    state.busy += 1;
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      state.busy -= 1;
      // Idle again: it moves to the back of the age order, so a client that keeps using its connection keeps it.
      if (held.delete(req.socket)) held.set(req.socket, state);
    };
    res.once('finish', finished);
    res.once('close', finished);
  });
  return () => held.size;
}
