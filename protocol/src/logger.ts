// The logger every library part takes (no console outside the CLI): structured fields per line.

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** JSON lines on a stream, for the process entry points. */
export function jsonLogger(component: string, write: (line: string) => void, debug = false): Logger {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>): void =>
    write(`${JSON.stringify({ t: new Date().toISOString(), level, component, msg, ...fields })}\n`);
  return { debug: debug ? log('debug') : () => {}, info: log('info'), warn: log('warn'), error: log('error') };
}
