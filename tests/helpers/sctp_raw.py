#!/usr/bin/env python3
"""SCTP packets over raw IP sockets, for a kernel without SCTP: a raw socket of
protocol 132 sends what it is given behind an IP header the kernel writes, and
receives every SCTP packet for its host (which, with a raw socket open, the
kernel then does not answer with a protocol unreachable). This is no SCTP
stack: one packet out, one back, enough to put real SCTP through kpr's
programs and check what they did to it. The CRC32c is RFC 9260's, computed
here independently of the tests' TypeScript reference.

usage:
  sctp_raw.py responder NAME PORT
      Answers each packet to PORT (either family) whose CRC32c is right with
      one from PORT back to its source port, carrying NAME; prints
      "listening", then runs until killed.
  sctp_raw.py client ADDR PORT COUNT FIRST_SPORT
      Sends COUNT packets to ADDR:PORT, each from a source port of its own
      (FIRST_SPORT, FIRST_SPORT+1, ...: a flow each), at most WINDOW
      unanswered, and waits for the answers. Prints one JSON line: how many
      were answered, by which backend, how many answers came from another
      address or port than ADDR:PORT, had a wrong CRC32c, did not carry
      what was sent (garbled), or never came (lost).
"""
import json
import select
import socket
import struct
import sys
import time

IPPROTO_SCTP = 132
WINDOW = 64
TIMEOUT_S = 2.0
PAYLOAD = b"kpr-sctp"


def crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def packet(sport: int, dport: int, vtag: int, chunk_data: bytes) -> bytes:
    """Common header and one DATA-shaped chunk of type 0 (RFC 9260 3.3.1), padded to 4 bytes."""
    chunk = struct.pack("!BBH", 0, 3, 4 + len(chunk_data)) + chunk_data
    chunk += b"\0" * (-len(chunk) % 4)
    head = struct.pack("!HHI", sport, dport, vtag)
    crc = crc32c(head + b"\0\0\0\0" + chunk)
    return head + struct.pack("<I", crc) + chunk


def crc_ok(pkt: bytes) -> bool:
    return len(pkt) >= 12 and struct.unpack("<I", pkt[8:12])[0] == crc32c(pkt[:8] + b"\0\0\0\0" + pkt[12:])


def sctp_of(sock: socket.socket, data: bytes) -> bytes:
    """The SCTP packet: an IPv4 raw socket hands over the IP header too."""
    return data[(data[0] & 0xF) * 4 :] if sock.family == socket.AF_INET else data


def chunk_data(pkt: bytes) -> bytes:
    if len(pkt) < 16:
        return b""
    length = struct.unpack("!H", pkt[14:16])[0]
    return pkt[16 : 12 + length]


def responder(name: str, port: int) -> None:
    socks = [socket.socket(f, socket.SOCK_RAW, IPPROTO_SCTP) for f in (socket.AF_INET, socket.AF_INET6)]
    print("listening", flush=True)
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            data, addr = s.recvfrom(65535)
            pkt = sctp_of(s, data)
            if len(pkt) < 12:
                continue
            sport, dport, vtag = struct.unpack("!HHI", pkt[:8])
            if dport != port or not crc_ok(pkt):
                continue
            s.sendto(packet(port, sport, vtag, name.encode() + b" " + chunk_data(pkt)), (addr[0], 0))


def client(addr: str, port: int, count: int, first_sport: int) -> None:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_RAW, IPPROTO_SCTP)
    dest = (addr, 0, 0, 0) if family == socket.AF_INET6 else (addr, 0)
    want = socket.getaddrinfo(addr, 0, family)[0][4][0]
    pending: dict[int, float] = {}
    result = {"sent": 0, "answered": 0, "backends": {}, "wrong_source": 0, "bad_crc": 0, "garbled": 0, "lost": 0}
    next_sport = first_sport
    last = first_sport + count
    while next_sport < last or pending:
        while next_sport < last and len(pending) < WINDOW:
            s.sendto(packet(next_sport, port, next_sport, PAYLOAD), dest)
            pending[next_sport] = time.monotonic()
            result["sent"] += 1
            next_sport += 1
        oldest = min(pending.values())
        wait = oldest + TIMEOUT_S - time.monotonic()
        if wait <= 0:
            for sport, at in list(pending.items()):
                if at == oldest:
                    del pending[sport]
                    result["lost"] += 1
            continue
        ready, _, _ = select.select([s], [], [], wait)
        if not ready:
            continue
        data, src = s.recvfrom(65535)
        pkt = sctp_of(s, data)
        if len(pkt) < 12:
            continue
        sport, dport = struct.unpack("!HH", pkt[:4])
        if dport not in pending:
            continue
        del pending[dport]
        if not crc_ok(pkt):
            result["bad_crc"] += 1
            continue
        if src[0] != want or sport != port:
            result["wrong_source"] += 1
            continue
        name, _, echoed = chunk_data(pkt).partition(b" ")
        if echoed != PAYLOAD:
            result["garbled"] += 1
            continue
        result["answered"] += 1
        result["backends"][name.decode()] = result["backends"].get(name.decode(), 0) + 1
    print(json.dumps(result), flush=True)


def main() -> None:
    if sys.argv[1] == "responder":
        responder(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
