// The kernel's verifier walks each program's paths and refuses one past a
// million instructions (BPF_COMPLEXITY_LIMIT_INSNS). kpr_xdp_lb once took
// 970k of them, unseen until a small change to its snat path was refused:
// every program must stay well inside the budget, so that a change, or
// another kernel's verifier, has room. The kernel says how many it walked
// (bpf_prog_info.verified_insns).
import * as path from 'path';
import { loadAddon } from '../../lib/datapath/native';
import { edgeOptions, openBpfRoot, socketOptions } from '../bpf/xdp_fixture';
import { BpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';

/** The verifier's limit, and the share of it a program may take. */
const LIMIT = 1_000_000;
const BUDGET = 0.7 * LIMIT;

describe("the programs' verifier cost", () => {
  let root: BpfRoot;
  let mapDir: string;

  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    root = openBpfRoot('verifier');
    mapDir = path.join(root.path, 'kpr', 'maps');
  });
  afterEach(() => root.destroy());

  function expectWithinBudget(counts: Record<string, number>, programs: string[]): void {
    expect(Object.keys(counts)).toEqual(expect.arrayContaining(programs));
    for (const [name, walked] of Object.entries(counts)) {
      // A program that loaded was walked: 0 would mean the kernel does not say.
      expect({ name, walked: walked > 0 }).toEqual({ name, walked: true });
      expect({ name, walked, within: walked < BUDGET }).toEqual({ name, walked, within: true });
    }
  }

  test(`the edge LB's programs (XDP and tc) each take less than ${BUDGET} of the verifier's ${LIMIT} instructions`, () => {
    const dp = loadAddon().openEdgeDatapath(edgeOptions(mapDir));
    try {
      expectWithinBudget(dp.verifiedInsns(), ['kpr_xdp_lb', 'kpr_xdp_icmp', 'kpr_tc_dsr_egress', 'kpr_tc_pod_ingress']);
    } finally {
      dp.close();
    }
  });

  test(`the socket LB's programs each take less than ${BUDGET} of the verifier's ${LIMIT} instructions`, () => {
    const dp = loadAddon().openSocketDatapath(socketOptions(mapDir));
    try {
      expectWithinBudget(dp.verifiedInsns(), ['kpr_connect4', 'kpr_connect6', 'kpr_sendmsg4', 'kpr_recvmsg4']);
    } finally {
      dp.close();
    }
  });
});
