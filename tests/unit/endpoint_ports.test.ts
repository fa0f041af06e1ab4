import { endpointPort } from '../../lib/model/endpoint_ports';
import { EndpointPort, ServicePort } from '../../lib/model/objects';
import { slice } from './objects';

describe('service ports match endpoint ports by name and protocol', () => {
  test.each<[string, ServicePort, EndpointPort[], number | undefined]>([
    ['unnamed to unnamed', { port: 80 }, [{ port: 8080 }], 8080],
    ['unset protocol means TCP on both sides', { port: 80, protocol: 'TCP' }, [{ port: 8080 }], 8080],
    ['by name', { name: 'http', port: 80 }, [{ name: 'metrics', port: 9090 }, { name: 'http', port: 8080 }], 8080],
    ['name differs', { name: 'http', port: 80 }, [{ name: 'https', port: 8443 }], undefined],
    ['unnamed does not match named', { port: 80 }, [{ name: 'http', port: 8080 }], undefined],
    ['protocol differs', { name: 'dns', port: 53, protocol: 'UDP' }, [{ name: 'dns', port: 5353, protocol: 'TCP' }], undefined],
    ['same name, protocol picks', { name: 'dns', port: 53, protocol: 'UDP' }, [{ name: 'dns', port: 5300, protocol: 'TCP' }, { name: 'dns', port: 5353, protocol: 'UDP' }], 5353],
    ['SCTP', { port: 9, protocol: 'SCTP' }, [{ port: 9999, protocol: 'SCTP' }], 9999],
    ['endpoint port without number is unusable', { port: 80 }, [{ name: '' }], undefined],
    ['no ports', { port: 80 }, [], undefined],
  ])('%s', (_name, sp, ports, want) => {
    expect(endpointPort(sp, slice('s', 'svc', 'IPv4', [], ports))).toBe(want);
  });
});
