# Resolves each name through the system resolver (getaddrinfo: /etc/resolv.conf, then the
# DNS server it names) and connects to it on PORT. Usage: resolve.py PORT NAME...
import socket, sys

port = int(sys.argv[1])
for name in sys.argv[2:]:
    addr = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
    c = socket.create_connection(addr)
    c.sendall(b"hi")
    c.close()
print("ok")
