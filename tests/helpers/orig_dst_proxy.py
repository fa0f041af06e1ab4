#!/usr/bin/env python3
"""A mesh sidecar's outbound capture, reduced to what the socket-LB bypass
must keep working: iptables in the pod's namespace REDIRECTs its outbound
TCP here; for each connection the proxy reads where the application
connected to (SO_ORIGINAL_DST, as Envoy does), prints it ("orig ADDR PORT"),
connects there itself (its socket marked, so the redirect lets it pass) and
relays both ways until both sides are done.

usage: orig_dst_proxy.py PORT MARK
"""
import socket
import struct
import sys
import threading

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h; IP6T_SO_ORIGINAL_DST is the same number
SO_MARK = 36
lock = threading.Lock()


def original_dst(conn, family):
    if family == socket.AF_INET:
        raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), struct.unpack('!H', raw[2:4])[0]
    raw = conn.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
    return socket.inet_ntop(socket.AF_INET6, raw[8:24]), struct.unpack('!H', raw[2:4])[0]


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(conn, family, mark):
    try:
        addr, port = original_dst(conn, family)
        with lock:
            print(f'orig {addr} {port}', flush=True)
        up = socket.socket(family, socket.SOCK_STREAM)
        up.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
        up.settimeout(10)
        up.connect((addr, port))
        up.settimeout(None)
        back = threading.Thread(target=pump, args=(up, conn), daemon=True)
        back.start()
        pump(conn, up)
        back.join(30)
        up.close()
    except OSError as e:
        with lock:
            print(f'error {e}', flush=True)
    finally:
        conn.close()


def listener(family, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(('::' if family == socket.AF_INET6 else '0.0.0.0', port))
    s.listen(512)
    return s


def accept(s, family, mark):
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, family, mark), daemon=True).start()


def main():
    port, mark = int(sys.argv[1]), int(sys.argv[2])
    for family in (socket.AF_INET, socket.AF_INET6):
        threading.Thread(target=accept, args=(listener(family, port), family, mark), daemon=True).start()
    print('listening', flush=True)
    threading.Event().wait()


if __name__ == '__main__':
    main()
