// The JUnit report of upstream's e2e.test (ginkgo's reporters/junit_report.go
// with the framework's options): one <testsuite> of <testcase name="[It] ..."
// status="passed|failed|skipped|..." time="seconds">, a skipped one with
// <skipped message="skipped - REASON"> (bare "skipped" when a filter left it
// out), a failed one with <failure type="failed"> whose text starts
// "[FAILED] MESSAGE", besides <system-out>/<system-err> logs. No XML parser
// is a dependency of kpr, so this reads that fixed shape: elements,
// attributes, text with the predefined and numeric entities, CDATA; comments,
// processing instructions and the declaration are passed over.

export interface JUnitTestCase {
  name: string;
  status: string;
  /** Seconds. */
  time: number;
  /** <skipped message=...>. */
  skipped?: string;
  /** The text of <failure> or <error>, else its message attribute. */
  failure?: string;
}

/** What ginkgo names a test; its other testcases are suite nodes (BeforeSuite, ReportAfterSuite, ...). */
export const IT = '[It] ';

export function isTest(tc: JUnitTestCase): boolean {
  return tc.name.startsWith(IT);
}

export interface JUnitReport {
  /** <testsuite timestamp=...>. */
  timestamp?: string;
  /** <property name= value=> of the suite: FocusStrings, LabelFilter, ... */
  properties: Record<string, string>;
  testcases: JUnitTestCase[];
}

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** where is asked only for an error message: counting lines on every call would make a report's parse quadratic. */
export function decodeEntities(text: string, where: () => string = () => 'text'): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`${where()}: a bare & (not an entity)`);
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(code >= 0 && code <= 0x10ffff)) throw new Error(`${where()}: ${whole} is no character`);
      return String.fromCodePoint(code);
    }
    const named = ENTITIES[ref];
    if (named === undefined) throw new Error(`${where()}: unknown entity ${whole}`);
    return named;
  });
}

const NAME = /[A-Za-z_:][-\w.:]*/y;
const ATTRIBUTE = /\s+([A-Za-z_:][-\w.:]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;

/** The document's root element. Throws at the first thing out of shape, saying where. */
export function parseXml(xml: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const lineAt = (at: number) => `line ${xml.slice(0, at).split('\n').length}`;
  const fail = (what: string): never => {
    throw new Error(`${lineAt(i)}: ${what}`);
  };
  const skipPast = (end: string, what: string) => {
    const at = xml.indexOf(end, i);
    if (at < 0) fail(`unterminated ${what}`);
    const body = xml.slice(i, at);
    i = at + end.length;
    return body;
  };
  const addText = (text: string) => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
    else if (text.trim() !== '') fail('text outside the root element');
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) {
      const at = i;
      addText(decodeEntities(xml.slice(i), () => lineAt(at)));
      break;
    }
    if (lt > i) addText(decodeEntities(xml.slice(i, lt), () => lineAt(lt)));
    i = lt;
    if (xml.startsWith('<![CDATA[', i)) {
      i += 9;
      addText(skipPast(']]>', 'CDATA section'));
    } else if (xml.startsWith('<!--', i)) {
      i += 4;
      skipPast('-->', 'comment');
    } else if (xml.startsWith('<?', i) || xml.startsWith('<!', i)) {
      i += 2;
      skipPast('>', 'declaration');
    } else if (xml.startsWith('</', i)) {
      i += 2;
      NAME.lastIndex = i;
      const m = NAME.exec(xml) ?? fail('a closing tag without a name');
      i = NAME.lastIndex;
      const top = stack.pop();
      if (!top || top.name !== m[0]) fail(`</${m[0]}> closes ${top ? `<${top.name}>` : 'nothing'}`);
      skipPast('>', 'closing tag');
    } else {
      i += 1;
      NAME.lastIndex = i;
      const m = NAME.exec(xml) ?? fail('a tag without a name');
      i = NAME.lastIndex;
      const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
      for (;;) {
        ATTRIBUTE.lastIndex = i;
        const a = ATTRIBUTE.exec(xml);
        if (!a) break;
        const at = i;
        el.attrs[a[1]] = decodeEntities(a[2] ?? a[3], () => `${lineAt(at)}: attribute ${a[1]} of <${el.name}>`);
        i = ATTRIBUTE.lastIndex;
      }
      while (/\s/.test(xml[i] ?? '')) i++;
      const selfClosing = xml.startsWith('/>', i);
      if (!selfClosing && xml[i] !== '>') fail(`<${el.name}>: an attribute out of shape`);
      i += selfClosing ? 2 : 1;
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) fail(`a second root element <${el.name}>`);
      else root = el;
      if (!selfClosing) stack.push(el);
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1].name}> is never closed`);
  return root ?? fail('no element');
}

function testcase(el: XmlElement): JUnitTestCase {
  const name = el.attrs.name;
  if (name === undefined) throw new Error('a <testcase> without a name');
  const tc: JUnitTestCase = { name, status: el.attrs.status ?? '', time: Number(el.attrs.time ?? 0) };
  for (const child of el.children) {
    if (child.name === 'skipped') tc.skipped = child.attrs.message ?? child.text;
    if (child.name === 'failure' || child.name === 'error') {
      tc.failure = child.text.trim() !== '' ? child.text : (child.attrs.message ?? '');
      // Plain JUnit has no status attribute: the child says it.
      if (!tc.status) tc.status = 'failed';
    }
  }
  if (!tc.status) tc.status = tc.skipped !== undefined ? 'skipped' : 'passed';
  return tc;
}

export function parseJUnit(xml: string): JUnitReport {
  const root = parseXml(xml);
  const suites = root.name === 'testsuites' ? root.children.filter((c) => c.name === 'testsuite') : root.name === 'testsuite' ? [root] : [];
  if (suites.length === 0) throw new Error(`no <testsuite> in <${root.name}>`);
  const properties: Record<string, string> = {};
  const testcases: JUnitTestCase[] = [];
  for (const suite of suites) {
    for (const p of suite.children.find((c) => c.name === 'properties')?.children ?? []) {
      if (p.name === 'property' && p.attrs.name !== undefined) properties[p.attrs.name] = p.attrs.value ?? '';
    }
    for (const c of suite.children) if (c.name === 'testcase') testcases.push(testcase(c));
  }
  return { timestamp: suites[0].attrs.timestamp, properties, testcases };
}
