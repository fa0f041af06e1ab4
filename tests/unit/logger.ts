// A logger for tests that keeps every line.
import { Logger } from '../../lib/log';

export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  error = (m: string) => void this.lines.push(`error ${m}`);
  warn = (m: string) => void this.lines.push(`warn ${m}`);
  info = (m: string) => void this.lines.push(`info ${m}`);
  debug = (m: string) => void this.lines.push(`debug ${m}`);

  matching(re: RegExp): string[] {
    return this.lines.filter((l) => re.test(l));
  }
}
