#!/usr/bin/env python3
"""Opens N idle connections to 127.0.0.1:PORT, reports the server's RSS."""
import resource, socket, sys, time

port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1024), hard))

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1

before = rss_kib()
socks = []
for _ in range(n):
    socks.append(socket.create_connection(("127.0.0.1", port)))
time.sleep(0.5)
after = rss_kib()
print(f"{n} idle connections: RSS {after / 1024:.1f} MiB "
      f"(was {before / 1024:.1f} MiB, {(after - before) * 1024 / n:.0f} bytes each)")
for s in socks:
    s.close()
