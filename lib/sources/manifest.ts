// Standalone mode's source: Services, EndpointSlices, Nodes, Pods, Namespaces and ServiceCIDRs from a manifest file
// or a directory of them, watched for changes. Each change re-reads only the
// files that changed and hands the listener the objects whose served
// definition changed (manifest_merge.ts).
//
// Nothing valid is ever lost to a mistake: a file that does not parse keeps
// its previous objects, and an invalid object keeps its previous version
// (like an update the API server refuses) while everything else applies.
import * as fs from 'fs';
import * as path from 'path';
import { Logger } from '../log';
import { stopwatch } from '../stopwatch';
import { Coalescer } from './coalesce';
import { decodeDocument, DocumentOutcome, KubeObject } from './decode_object';
import { SERVICE_PROXY_NAME_LABEL } from './kubernetes_filters';
import { isManifestFile } from './manifest_files';
import { ManifestChange, ManifestMerge } from './manifest_merge';
import { ManifestRead, readManifest } from './manifest_read';
import { readAhead, READ_AHEAD_FROM } from './manifest_read_ahead';

/** Called once with every object served at start, then with what each change changed. */
export type ManifestListener = (changes: ManifestChange[]) => void;

export interface ManifestSourceOptions {
  /** A manifest file, or a directory of *.yaml, *.yml and *.json files. */
  path: string;
  log: Logger;
  /** Quiet time that ends a burst of file events. */
  settleMs?: number;
  /** Longest wait from a burst's first event to its read. */
  maxDelayMs?: number;
  /** --service-proxy-name: Services and EndpointSlices are served as the API server would select them. */
  proxyName?: string;
  /** A sync of this many files or more has them read and parsed on a worker thread (manifest_read_ahead.ts). */
  readAheadFrom?: number;
}

interface FileState {
  /** Decoded documents by their text's digest, for re-use when the file
   *  changes: the texts themselves, as keys, kept 14 MB alive at 10k
   *  services (measured), as much as the objects decoded from them. */
  chunks: Map<string, DocumentOutcome[]>;
  objects: Map<string, KubeObject>;
}

const CONFIGMAP_DATA = '..data';

export class ManifestSource {
  private readonly files = new Map<string, FileState>();
  private readonly merge: ManifestMerge;
  private readonly dirty = new Set<string>();
  private readonly coalescer: Coalescer;
  private readonly log: Logger;
  private dir = '';
  /** Set when watching a single file: its name within dir. */
  private only?: string;
  private watcher?: fs.FSWatcher;
  private listener?: ManifestListener;
  private started = false;
  private rescan = false;
  private reportedDuplicates = '';
  private reportedUnclaimed = -1;

  constructor(private readonly opts: ManifestSourceOptions) {
    this.log = opts.log;
    this.merge = new ManifestMerge(opts.proxyName);
    this.coalescer = new Coalescer(() => this.sync(), opts.settleMs ?? 3, opts.maxDelayMs ?? 30);
  }

  /** Reads everything, calls listener once with the initial set, then again
   *  after every change until stop(). */
  async start(listener: ManifestListener): Promise<void> {
    this.listener = listener;
    const target = path.resolve(this.opts.path);
    const isDir = (await fs.promises.stat(target)).isDirectory();
    this.dir = isDir ? target : path.dirname(target);
    this.only = isDir ? undefined : path.basename(target);
    // Watch the directory, not the files: editors save by writing a new file
    // and renaming it over the old one, which a file watch would miss.
    this.watcher = fs.watch(this.dir, (_event, name) => this.changed(name));
    this.watcher.on('error', (e) => this.log.error(`manifests: watching ${this.dir}: ${e.message}`));
    this.rescan = true;
    await this.sync();
    this.started = true;
    if (this.dirty.size > 0 || this.rescan) this.coalescer.trigger();
  }

  stop(): void {
    this.watcher?.close();
    this.coalescer.cancel();
  }

  private changed(name: string | null): void {
    // No name: the kernel dropped events, so every file may have changed.
    // A ConfigMap volume updates all its files at once by swapping ..data.
    if (name === null || name === CONFIGMAP_DATA) this.rescan = true;
    else if (this.only ? name === this.only : isManifestFile(name)) this.dirty.add(name);
    else return;
    if (this.started) this.coalescer.trigger();
  }

  private async sync(): Promise<void> {
    if (this.rescan) {
      this.rescan = false;
      for (const name of await this.listFiles()) this.dirty.add(name);
      for (const name of this.files.keys()) this.dirty.add(name);
    }
    const names = [...this.dirty].sort();
    this.dirty.clear();
    if (names.length >= (this.opts.readAheadFrom ?? READ_AHEAD_FROM)) {
      for await (const reads of readAhead(this.dir, names, this.log)) for (const [name, read] of reads) this.reload(name, read);
    } else {
      for (const name of names) this.reload(name);
    }
    const changes = this.merge.take();
    this.report();
    if (changes.length > 0 || !this.started) this.listener?.(changes);
  }

  private async listFiles(): Promise<string[]> {
    if (this.only) return [this.only];
    try {
      return (await fs.promises.readdir(this.dir)).filter(isManifestFile);
    } catch (e) {
      this.log.error(`manifests: listing ${this.dir}: ${(e as Error).message}; keeping what was read before`);
      return [];
    }
  }

  /** read: the file as a worker thread read it; by default read here,
   *  parsing only the documents whose text changed. */
  private reload(name: string, read?: ManifestRead): void {
    const file = path.join(this.dir, name);
    const previous = this.files.get(name);
    const keeping = `keeping its ${previous?.objects.size ?? 0} previous objects`;
    const elapsed = stopwatch();
    read ??= readManifest(file, name, (digest) => previous?.chunks.has(digest) ?? false);
    if ('readError' in read) {
      const { code, message } = read.readError;
      if (code === 'ENOENT') {
        if (this.files.delete(name)) this.log.info(`manifests: ${file} removed`);
        this.merge.setFile(name, undefined);
      } else if (code !== 'EISDIR') {
        this.log.error(`manifests: ${file}: ${message}; ${keeping}`);
      }
      return;
    }
    if ('parseError' in read) {
      const { line, reason } = read.parseError;
      this.log.error(`manifests: ${line === undefined ? file : `${file}:${line}`}: ${reason}; ${keeping}`);
      return;
    }
    const chunks = new Map<string, DocumentOutcome[]>();
    const outcomes: { line: number; outcome: DocumentOutcome }[] = [];
    for (const chunk of read.chunks) {
      // Documents are left out of a read only for a digest held already.
      const decoded = chunks.get(chunk.digest) ?? previous?.chunks.get(chunk.digest) ?? (chunk.docs as unknown[]).map(decodeDocument);
      chunks.set(chunk.digest, decoded);
      for (const outcome of decoded) outcomes.push({ line: chunk.line, outcome });
    }
    const objects = new Map<string, KubeObject>();
    for (const { line, outcome } of outcomes) this.take(outcome, `${file}:${line}`, previous?.objects, objects);
    this.files.set(name, { chunks, objects });
    this.merge.setFile(name, objects);
    this.log.debug(`manifests: read ${file}: ${objects.size} objects in ${elapsed().toFixed(1)}ms`);
  }

  private take(outcome: DocumentOutcome, where: string, previous: Map<string, KubeObject> | undefined, into: Map<string, KubeObject>): void {
    if ('ignored' in outcome) {
      this.log.debug(`manifests: ${where}: ignoring ${outcome.ignored}`);
    } else if ('object' in outcome) {
      if (into.has(outcome.identity)) this.log.warn(`manifests: ${where}: ${outcome.identity} is defined again; using the first definition`);
      else into.set(outcome.identity, outcome.object);
    } else {
      const kept = outcome.identity === undefined ? undefined : previous?.get(outcome.identity);
      this.log.error(`manifests: ${where}: ${outcome.error}; ${kept ? 'keeping its previous version' : 'skipped'}`);
      if (kept && outcome.identity) into.set(outcome.identity, kept);
    }
  }

  /** Objects defined twice and objects not served, each time what is said changes. */
  private report(): void {
    const duplicates = this.merge.duplicates();
    const report = duplicates.join('\n');
    if (report !== this.reportedDuplicates) duplicates.forEach((d) => this.log.warn(`manifests: ${d}`));
    this.reportedDuplicates = report;
    const unclaimed = this.merge.unclaimedCount;
    if (unclaimed !== this.reportedUnclaimed) {
      const whose = this.opts.proxyName === undefined ? `labelled ${SERVICE_PROXY_NAME_LABEL} (another proxy's) or headless` : `not labelled ${SERVICE_PROXY_NAME_LABEL}=${this.opts.proxyName} or headless`;
      if (unclaimed > 0 || this.reportedUnclaimed > 0) this.log.info(`manifests: ${unclaimed} Services and EndpointSlices ${whose}: not served`);
      this.reportedUnclaimed = unclaimed;
    }
  }
}
