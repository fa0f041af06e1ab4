// A child process read line by line, so callers can wait for a readiness line
// ("listening", "kpr: ready") and keep the whole log for error messages.
import { spawn, ChildProcess } from 'child_process';
import { Readable } from 'stream';
import { onExit } from './exit_cleanup';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const LOG_TAIL_CHARS = 4000;

export class LineProcess {
  /** Lines of stdout only: the machine-readable channel of our helper scripts. */
  readonly stdoutLines: string[] = [];
  /** Lines of stderr only: what a command says besides its output. */
  readonly stderrLines: string[] = [];
  /** Lines of both streams, in arrival order. */
  readonly lines: string[] = [];
  readonly exited: Promise<ExitStatus>;
  private status?: ExitStatus;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly label: string,
    cmd: string,
    args: string[],
    cwd?: string,
    env?: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const unregister = onExit(() => this.child.kill('SIGKILL'));
    this.readLines(this.child.stdout as Readable, true);
    this.readLines(this.child.stderr as Readable, false);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => this.addLine(`${label}: ${err.message}`, false));
      this.child.on('close', (code, signal) => {
        this.status = { code, signal };
        unregister();
        this.notify();
        resolve(this.status);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last part of the combined log, for error messages. */
  logTail(): string {
    return this.lines.join('\n').slice(-LOG_TAIL_CHARS);
  }

  private readLines(stream: Readable, isStdout: boolean): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() as string;
      for (const line of parts) this.addLine(line, isStdout);
    });
    stream.on('end', () => {
      if (partial) this.addLine(partial, isStdout);
    });
  }

  private addLine(line: string, isStdout: boolean): void {
    this.lines.push(line);
    (isStdout ? this.stdoutLines : this.stderrLines).push(line);
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once check() returns a value; rejects on exit or after timeoutMs. */
  waitUntil<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (err?: Error, value?: T) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (err) reject(err);
        else resolve(value as T);
      };
      const fail = (why: string) =>
        finish(new Error(`${this.label}: ${why} while waiting for ${what}\n--- log tail ---\n${this.logTail()}`));
      const listener = () => {
        const value = check();
        if (value !== undefined) finish(undefined, value);
        else if (this.status) fail(`exited (${this.status.code ?? this.status.signal})`);
      };
      const timer = setTimeout(() => fail(`no result after ${timeoutMs} ms`), timeoutMs);
      this.listeners.add(listener);
      listener();
    });
  }

  waitForLine(what: string, test: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return this.waitUntil(what, () => this.lines.find(test), timeoutMs);
  }

  /** Waits for the process to end by itself; rejects with the log after timeoutMs. */
  waitForExit(timeoutMs: number): Promise<ExitStatus> {
    return this.waitUntil('exit', () => this.status, timeoutMs).catch((e: Error) => {
      this.child.kill('SIGKILL');
      throw e;
    });
  }

  /** Waits for the process to end; rejects with the log unless it exited 0. */
  async waitForSuccess(timeoutMs: number): Promise<void> {
    const status = await this.waitForExit(timeoutMs);
    if (status.code !== 0) {
      throw new Error(`${this.label}: exit ${status.code ?? status.signal}\n--- log tail ---\n${this.logTail()}`);
    }
  }

  /** Sends signal, then SIGKILL if the process is still there after graceMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<ExitStatus> {
    if (this.status) return this.status;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }
}
