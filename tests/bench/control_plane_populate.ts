// Filling the API server for the control-plane benchmarks: services [from,
// to) and then their EndpointSlices, through the benchmark's writer, with
// the rate printed as it goes (it shows whether the API server slows down as
// it fills).
import { ApiWriter } from './control_plane_api';
import { createService, createSlice } from './control_plane_objects';

const PROGRESS_EVERY = 1000;

/** Creates services [from, to) then their slices; returns the new ClusterIPs and the time each kind took. */
export async function populate(api: ApiWriter, from: number, to: number, endpoints: number): Promise<{ clusterIPs: string[]; servicesMs: number; slicesMs: number }> {
  let start = performance.now();
  const progress = (kind: string) => (done: number) => console.log(`  ${kind}: ${from + done}/${to} (${Math.round((done * 1000) / (performance.now() - start))}/s)`);
  const clusterIPs = await api.createMany(from, to, (i) => createService(api, i), progress('services'), PROGRESS_EVERY);
  const servicesMs = performance.now() - start;
  start = performance.now();
  await api.createMany(from, to, (i) => createSlice(api, i, endpoints), progress('endpointslices'), PROGRESS_EVERY);
  return { clusterIPs, servicesMs, slicesMs: performance.now() - start };
}
