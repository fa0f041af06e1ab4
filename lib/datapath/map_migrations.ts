// Pinned maps found at another capacity than the config's, or in an older
// layout, are re-made by the load, entries and all (native/src/map_migration.h);
// the agent says so, and settles them once the new programs are attached.
import { Logger } from '../log';
import { MigratedMaps } from './native';

export function logMigrations(maps: Pick<MigratedMaps, 'migrations'>, log: Logger): void {
  for (const m of maps.migrations()) {
    const layout = m.fromLayout ? `, converted from the older layout of ${m.fromLayout}` : '';
    log.info(`maps: ${m.map} migrated from ${m.fromEntries} to ${m.toEntries} entries, ${m.copied} entries carried over${layout}`);
  }
}

/** Called once the new programs are attached: what the old ones wrote since the load. */
export function settleMigrations(maps: Pick<MigratedMaps, 'settleMigratedMaps'>, log: Logger): void {
  const copied = maps.settleMigratedMaps();
  if (copied > 0) log.info(`maps: ${copied} entries the previous programs added during the migration carried over`);
}
