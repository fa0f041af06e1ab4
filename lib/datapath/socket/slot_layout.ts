// How a programmed frontend holds its slots (programmed.ts): a number per
// slot written as a plan writes it (the master's service id, the backend, no
// count, no affinity timeout), and whole entries only for slots read back
// otherwise. An object and a Map entry per slot held about 140 MB at 100k
// services of 10 backends (a heap snapshot at 10k: 110k slot objects of
// 88 bytes, 10k Maps of 500-byte tables).
import { ServiceSlot } from '../native';

export interface SlotLayout {
  /** Slot 0; missing only if an earlier writer stopped halfway. */
  master?: ServiceSlot;
  /** The backend id in each slot written as a plan writes it: slot n at
   *  n - 1, 0 where there is none. */
  slotBackends: number[];
  /** Read back only: the slots the maps hold otherwise (another service id,
   *  a count or timeout of their own, no backend, or no master to take the
   *  service id from), as read; never beside a slotBackends entry. */
  oddSlots?: Map<number, ServiceSlot>;
}

/** A slot read from the map into f, whose master (if any) is already read. */
export function keepSlot(f: SlotLayout, s: ServiceSlot): void {
  const plain = f.master !== undefined && s.svcId === f.master.svcId && s.backendId !== 0 && s.count === 0 && s.affinityTimeout === 0;
  if (!plain) {
    (f.oddSlots ??= new Map()).set(s.slot, s);
    return;
  }
  while (f.slotBackends.length < s.slot) f.slotBackends.push(0);
  f.slotBackends[s.slot - 1] = s.backendId;
}

/** Calls visit with each slot (> 0) f holds in the service map. */
export function forEachSlot(f: SlotLayout, visit: (slot: number, svcId: number, backendId: number, count: number, affinityTimeout: number) => void): void {
  const svcId = f.master?.svcId ?? 0;
  for (let i = 0; i < f.slotBackends.length; i++) if (f.slotBackends[i] !== 0) visit(i + 1, svcId, f.slotBackends[i], 0, 0);
  f.oddSlots?.forEach((s) => visit(s.slot, s.svcId, s.backendId, s.count, s.affinityTimeout));
}

/** Whether f holds slot (> 0) in the service map. */
export function hasSlot(f: SlotLayout, slot: number): boolean {
  return (f.slotBackends[slot - 1] ?? 0) !== 0 || (f.oddSlots?.has(slot) ?? false);
}

/** The backend id in f's slot; undefined when f holds no such slot. */
export function slotBackend(f: SlotLayout, slot: number): number | undefined {
  const id = f.slotBackends[slot - 1] ?? 0;
  return id !== 0 ? id : f.oddSlots?.get(slot)?.backendId;
}

/** Whether f's slot holds backendId of svcId as a plan writes it (no count, no affinity timeout). */
export function slotHolds(f: SlotLayout, slot: number, svcId: number, backendId: number): boolean {
  const odd = f.oddSlots?.get(slot);
  if (odd) return odd.svcId === svcId && odd.backendId === backendId && odd.count === 0 && odd.affinityTimeout === 0;
  return f.master?.svcId === svcId && f.slotBackends[slot - 1] === backendId;
}
