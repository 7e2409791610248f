# A stub resolver by hand, for runs where /etc/resolv.conf cannot be swapped (under
# `run --enforce` nothing may mount): asks SERVER:53 for NAME's A record over a connected
# UDP socket (as glibc does), then connects to the first address on PORT.
# Usage: dns_client.py SERVER PORT NAME [recv|recvmsg] (how it reads the answer)
import random, socket, struct, sys

server, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
how = sys.argv[4] if len(sys.argv) > 4 else "recv"
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
u.connect((server, 53))
u.send(q)
m = u.recv(512) if how == "recv" else u.recvmsg(512)[0]
u.close()
off = 12
while m[off]:
    off += 1 + m[off]
off += 5
# the answer: a pointer to the question's name, then type, class, ttl, length, address
assert struct.unpack(">H", m[6:8])[0] >= 1, "no answer"
addr = socket.inet_ntoa(m[off + 12 : off + 16])
c = socket.create_connection((addr, port))
c.sendall(b"hi")
c.close()
print("ok")
