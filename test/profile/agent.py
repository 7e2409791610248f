# An agent-like script for the profile tests: it lists and reads project files, writes a
# result, runs a tool and talks to a loopback "API". With a third argument it also does
# four things its profile never saw: reads a key, writes outside the project, runs a new
# program and connects to a second port; with a fourth (`calls`) it also makes two system calls
# it never made before (chmod, setpriority). It prints what each step got (ok or the errno).
import errno, json, os, socket, subprocess, sys

res = {}


def attempt(name, fn):
    try:
        fn()
        res[name] = "ok"
    except OSError as e:
        res[name] = errno.errorcode.get(e.errno, str(e.errno))


def work():
    for f in sorted(os.listdir("src")):
        open(os.path.join("src", f)).read()
    open("input.txt").read()
    os.makedirs("out", exist_ok=True)
    open("out/result.txt", "w").write("ok")


def conn(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"hi")
    s.close()


p1, p2 = int(sys.argv[1]), int(sys.argv[2])
attempt("work", work)
attempt("tool", lambda: subprocess.run(["/usr/bin/ls", "src"], stdout=subprocess.DEVNULL, check=True))
attempt("api", lambda: conn(p1))
if len(sys.argv) > 3:
    attempt("key", lambda: open(os.path.expanduser("~/.ssh/id_rsa")).read())
    attempt("outside", lambda: open(sys.argv[3], "w").write("x"))
    attempt("exec", lambda: subprocess.run(["/usr/bin/true"], check=True))
    attempt("port2", lambda: conn(p2))
if len(sys.argv) > 4:
    attempt("chmod", lambda: os.chmod("out/result.txt", 0o644))
    attempt("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, 0, 1))
print(json.dumps(res))
