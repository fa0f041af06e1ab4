// Pinned maps found at another capacity than the config's are re-made at
// the new one by the load, entries and all (native/src/map_migration.h);
// the agent says so, and settles them once the new programs are attached.
import { Logger } from '../log';
import { MigratedMaps } from './native';

export function logMigrations(maps: Pick<MigratedMaps, 'migrations'>, log: Logger): void {
  for (const m of maps.migrations()) log.info(`maps: ${m.map} migrated from ${m.fromEntries} to ${m.toEntries} entries, ${m.copied} entries carried over`);
}

/** Called once the new programs are attached: what the old ones wrote since the load. */
export function settleMigrations(maps: Pick<MigratedMaps, 'settleMigratedMaps'>, log: Logger): void {
  const copied = maps.settleMigratedMaps();
  if (copied > 0) log.info(`maps: ${copied} entries the previous programs added during the migration carried over`);
}
