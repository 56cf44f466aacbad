// The benchmarks' baseline: a plain Node HTTP server that writes PUT bodies to disk (fsynced
// before it answers) and serves them back, on 127.0.0.1 or on a host of a simulated network.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const PLAIN_SERVER = `
const http = require('node:http'); const fs = require('node:fs'); const path = require('node:path');
const [dir, host] = process.argv.slice(1);
const srv = http.createServer((req, res) => {
  const file = path.join(dir, 'plain-' + encodeURIComponent(req.url));
  if (req.method === 'PUT') {
    const out = fs.createWriteStream(file);
    req.pipe(out);
    out.on('finish', () => fs.open(file, 'r', (e, fd) => fs.fsync(fd, () => fs.close(fd, () => res.end('ok')))));
  } else {
    fs.stat(file, (e, st) => {
      if (e) { res.statusCode = 404; return res.end(); }
      res.writeHead(200, { 'content-length': st.size });
      fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
    });
  }
});
srv.listen(0, host, () => console.log(JSON.stringify({ port: srv.address().port })));
`;

/** Starts the server keeping its files in `dir`; `on` places it on a host (address and command prefix). */
export async function startPlainServer(dir: string, on: { host: string; prefix?: string[] } = { host: '127.0.0.1' }): Promise<{ child: ChildProcess; url: string }> {
  const cmd = [...(on.prefix ?? []), process.execPath, '-e', PLAIN_SERVER, dir, on.host];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, url: `http://${on.host}:${(JSON.parse(line.toString()) as { port: number }).port}` };
}
