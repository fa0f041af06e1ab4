import { BackendTable } from '../../lib/datapath/socket/backend_table';

const b = (id: number, addr = `198.18.0.${id}`, port = 80, svcId = 1) => ({ id, addr, port, svcId });

describe('the socket LB backend table', () => {
  test('holds backends by id as a Map would: set, overwrite, delete, size, in id order', () => {
    const t = new BackendTable([b(3), b(1)]);
    expect(t.size).toBe(2);
    t.set(b(3, '198.18.9.9', 8080, 2));
    expect(t.size).toBe(2);
    expect(t.get(3)).toEqual(b(3, '198.18.9.9', 8080, 2));
    expect([t.addrOf(3), t.portOf(3), t.svcIdOf(3)]).toEqual(['198.18.9.9', 8080, 2]);
    expect(t.get(2)).toBeUndefined();
    expect(t.svcIdOf(2)).toBeUndefined();
    expect(t.delete(2)).toBe(false);
    expect(t.delete(1)).toBe(true);
    expect(t.has(1)).toBe(false);
    expect(t.size).toBe(1);
    t.set(b(7));
    expect([...t.keys()]).toEqual([3, 7]);
    expect([...t.values()]).toEqual([b(3, '198.18.9.9', 8080, 2), b(7)]);
  });
});
