# One host's outgoing delay on a simulated network, for kernels without tc netem: runs inside the
# host's network namespace, takes every IPv4 packet the host sends (routed into a tun device by a
# policy rule), holds it for the delay and sends it on through the host's veth with a raw socket
# whose mark sends it past that rule. The packets keep their order, as on a wire.
#
# python3 netns-delay.py <tun name> <delay ms>. Prints "ready" once the tun device exists; exits
# when its standard input closes (the process that started it is gone), which removes the device.

import collections
import fcntl
import os
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
SO_MARK = 36
MARK = 1

name, delay = sys.argv[1], float(sys.argv[2]) / 1000.0
tun = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
fcntl.ioctl(tun, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IPPROTO_RAW: headers included
out.setsockopt(socket.SOL_SOCKET, SO_MARK, MARK)
out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
print('ready', flush=True)

held = collections.deque()
stdin = sys.stdin.fileno()
while True:
    now = time.monotonic()
    while held and held[0][0] <= now:
        _, packet = held.popleft()
        try:
            out.sendto(packet, (socket.inet_ntoa(packet[16:20]), 0))
        except OSError:
            pass  # a full queue drops the packet, as a router would; TCP sends it again
    timeout = max(0.0, held[0][0] - now) if held else None
    ready, _, _ = select.select([tun, stdin], [], [], timeout)
    if stdin in ready and not os.read(stdin, 4096):
        break
    if tun in ready:
        now = time.monotonic()
        while True:
            try:
                packet = os.read(tun, 65536)
            except BlockingIOError:
                break
            if len(packet) >= 20 and packet[0] >> 4 == 4:
                held.append((now + delay, packet))
