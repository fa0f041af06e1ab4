import { Column } from '../../lib/datapath/column';

describe('column', () => {
  test('gives back what was pushed, in order, across its arrays', () => {
    const c = new Column<number>();
    expect(c.length).toBe(0);
    for (let i = 0; i < 20000; i++) c.push(i * 3);
    expect(c.length).toBe(20000);
    for (const i of [0, 1, 8191, 8192, 8193, 16383, 16384, 19999]) expect(c.at(i)).toBe(i * 3);
  });
});
