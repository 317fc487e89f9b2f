# The outside peer of the --ext-unix-sk tests (tests/cr/cr_ext_unix.sh,
# tests/integration/cr_container_ext_unix.sh): a stream listener at PATH that echoes, and a
# datagram socket at PATH.d; every event is a line in LOG.
# usage: ext_unix_server.py PATH LOG
import select, socket, sys
path, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
listener.listen(8)
datagrams = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
datagrams.bind(path + ".d")
log.write("listening\n")
conns = []
while True:
    ready, _, _ = select.select([listener, datagrams] + conns, [], [])
    # Events ready in the same round (a slow server under load) are logged in the order they
    # can have happened: a datagram, sent only after its stream's echo, before that stream's
    # close; an old connection's close (the dumped tree killed) before a new connect (the
    # restore).
    order = lambda s: 0 if s is datagrams else 1 if s in conns else 2
    for s in sorted(ready, key=order):
        if s is listener:
            conns.append(listener.accept()[0])
            log.write("accept\n")
        elif s is datagrams:
            log.write("dgram %s\n" % datagrams.recv(100).decode())
        else:
            data = s.recv(100)
            if not data:
                conns.remove(s)
                s.close()
                log.write("closed\n")
                continue
            log.write("stream %s\n" % data.decode())
            s.sendall(b"echo:" + data)
