# A tiny DNS server for the profile tests: answers A queries for the names given as
# NAME=ADDRESS arguments (NXDOMAIN for any other), on ADDRESS:53 given first. Prints
# "ready" once bound, then serves until killed.
import socket, struct, sys

where = sys.argv[1]
names = dict(a.split("=", 1) for a in sys.argv[2:])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((where, 53))
print("ready", flush=True)
while True:
    m, peer = s.recvfrom(512)
    if len(m) < 17:
        continue
    off, labels = 12, []
    while off < len(m) and m[off]:
        labels.append(m[off + 1 : off + 1 + m[off]].decode("ascii", "replace"))
        off += 1 + m[off]
    qend = off + 5
    qtype = struct.unpack(">H", m[off + 1 : off + 3])[0]
    addr = names.get(".".join(labels).lower())
    answer = addr is not None and qtype == 1
    flags = 0x8180 | (0 if addr is not None else 3)
    head = m[:2] + struct.pack(">HHHHH", flags, 1, 1 if answer else 0, 0, 0)
    body = m[12:qend]
    if answer:
        body += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
    s.sendto(head + body, peer)
