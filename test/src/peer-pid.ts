// Which local process holds the other end of a TCP connection on 127.0.0.1 (Linux /proc): lets a
// proxy in a test act on the process that just asked, e.g. kill -9 the node that is repairing.

import { readFile, readdir, readlink } from 'node:fs/promises';

const hexPort = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');

/** The socket inode of the connection from local port `from` to port `to`, if any. */
async function inodeOf(from: number, to: number): Promise<string | undefined> {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (f[1]!.endsWith(`:${hexPort(from)}`) && f[2]!.endsWith(`:${hexPort(to)}`)) return f[9];
    }
  }
  return undefined;
}

/**
 * The pid among `candidates` that owns the client end of a connection whose client port is
 * `clientPort` and whose server port is `serverPort`; undefined if none of them does.
 */
export async function pidOfPeer(clientPort: number, serverPort: number, candidates: number[]): Promise<number | undefined> {
  const inode = await inodeOf(clientPort, serverPort);
  if (!inode || inode === '0') return undefined;
  const want = `socket:[${inode}]`;
  for (const pid of candidates) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === want) return pid;
    }
  }
  return undefined;
}
