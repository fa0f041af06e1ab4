// A leveled logger writing one line per message to stderr. Everything the
// agent says goes through here so that tests and operators can grep a stable
// "<ISO time> <level> <message>" shape.

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const at = (l: LogLevel) => (msg: string) => {
    if (LOG_LEVELS.indexOf(l) <= threshold) write(`${new Date().toISOString()} ${l} ${msg}\n`);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
