#!/usr/bin/env python3
"""Counts, by source MAC, the IPv4 frames from one address that arrive on a
device: which host actually sent a reply. Run inside the receiver's network
namespace; stops after the given time.

usage: frames_from.py DEVICE SOURCE_IPV4 DURATION_MS  ->  one JSON line {mac: count}
"""
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800


def main() -> None:
    dev, source, duration_ms = sys.argv[1], socket.inet_aton(sys.argv[2]), int(sys.argv[3])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((dev, 0))
    print("sniffing", flush=True)
    counts: dict[str, int] = {}
    deadline = time.monotonic() + duration_ms / 1000
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            frame, addr = sock.recvfrom(65535)
        except socket.timeout:
            break
        if addr[2] == socket.PACKET_OUTGOING or len(frame) < 34:
            continue
        if struct.unpack("!H", frame[12:14])[0] == ETH_P_IP and frame[26:30] == source:
            mac = ":".join(f"{b:02x}" for b in frame[6:12])
            counts[mac] = counts.get(mac, 0) + 1
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
