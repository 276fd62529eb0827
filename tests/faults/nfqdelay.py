#!/usr/bin/env python3
"""Packet delayer on an NFQUEUE (Python 3 stdlib only): the harness's stand-in for
`tc qdisc ... netem delay`, which this kernel does not have (CONFIG_NET_SCH_NETEM
is not set; nor fq, so no BPF earliest-departure-time either).

Run inside a network namespace (`ip netns exec NS nfqdelay.py --queue N --delay-ms D`)
next to an nftables rule that sends the packets to delay to that queue, e.g.
    nft add rule ip faults out ip daddr 10.77.0.0/24 queue num N bypass
Every queued packet is held D ms from the moment it reached the queue, then accepted,
in arrival order (a batch verdict accepts every id up to the newest due one), so TCP
sees a constant one-way delay and no reordering. `bypass` lets packets through when
this process is not bound (never a black hole by accident). Loss is not done here:
the harness adds `numgen random mod 100 < P drop` before the queue rule.

Protocol: nfnetlink_queue over a raw NETLINK_NETFILTER socket (linux/netfilter/
nfnetlink_queue.h): CONFIG/CMD_BIND, CONFIG/PARAMS copy-mode META (no payload
copied), PACKET messages carry NFQA_PACKET_HDR (packet id), VERDICT_BATCH answers.
"""
import argparse
import collections
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_CONFIG = 2
NFQNL_MSG_VERDICT_BATCH = 3
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NF_ACCEPT = 1
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5


def _attr(atype, payload):
    ln = 4 + len(payload)
    return struct.pack('=HH', ln, atype) + payload + b'\0' * ((4 - ln % 4) % 4)


def _msg(mtype, queue, attrs, flags=NLM_F_REQUEST, seq=0):
    body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | mtype, flags, seq, 0) + body


def _check_ack(sock, what):
    data = sock.recv(65536)
    ln, mtype = struct.unpack_from('=IH', data, 0)
    if mtype == NLMSG_ERROR:
        err = struct.unpack_from('=i', data, 16)[0]
        if err != 0:
            raise OSError(-err, '%s: %s' % (what, os.strerror(-err)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--queue', type=int, default=0)
    ap.add_argument('--delay-ms', type=float, required=True)
    ap.add_argument('--maxlen', type=int, default=65536)
    ap.add_argument('--ready-file', help='written once bound (the harness waits for it)')
    a = ap.parse_args()
    delay = a.delay_ms / 1000.0

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    for opt in (33, socket.SO_RCVBUF):        # SO_RCVBUFFORCE (root), then the plain one
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 32 * 1024 * 1024)
            break
        except OSError:
            continue
    try:
        s.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    except OSError:
        pass
    s.bind((0, 0))
    s.send(_msg(NFQNL_MSG_CONFIG, a.queue,
                _attr(NFQA_CFG_CMD, struct.pack('=BBH', NFQNL_CFG_CMD_BIND, 0, socket.htons(socket.AF_INET))),
                NLM_F_REQUEST | NLM_F_ACK, 1))
    _check_ack(s, 'bind queue %d' % a.queue)
    s.send(_msg(NFQNL_MSG_CONFIG, a.queue,
                _attr(NFQA_CFG_PARAMS, struct.pack('>IB', 0, NFQNL_COPY_META) + b'\0\0\0')
                + _attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('>I', a.maxlen)),
                NLM_F_REQUEST | NLM_F_ACK, 2))
    _check_ack(s, 'configure queue %d' % a.queue)
    if a.ready_file:
        with open(a.ready_file, 'w') as f:
            f.write('%d\n' % os.getpid())

    held = collections.deque()        # (due_monotonic, packet_id), in arrival order
    s.setblocking(False)
    while True:
        now = time.monotonic()
        last = None
        while held and held[0][0] <= now:
            last = held.popleft()[1]
        if last is not None:
            s.send(_msg(NFQNL_MSG_VERDICT_BATCH, a.queue,
                        _attr(NFQA_VERDICT_HDR, struct.pack('>II', NF_ACCEPT, last))))
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else 1.0
        r, _, _ = select.select([s], [], [], timeout)
        if not r:
            continue
        while True:
            try:
                data = s.recv(1 << 20)
            except BlockingIOError:
                break
            t = time.monotonic() + delay
            off = 0
            while off + 16 <= len(data):
                ln, mtype = struct.unpack_from('=IH', data, off)
                if ln < 16:
                    break
                if (mtype & 0xff) == NFQNL_MSG_PACKET and (mtype >> 8) == NFNL_SUBSYS_QUEUE:
                    p = off + 20                      # nlmsghdr + nfgenmsg
                    end = off + ln
                    while p + 4 <= end:
                        alen, atype = struct.unpack_from('=HH', data, p)
                        if alen < 4:
                            break
                        if (atype & 0x3fff) == NFQA_PACKET_HDR:
                            held.append((t, struct.unpack_from('>I', data, p + 4)[0]))
                            break
                        p += (alen + 3) & ~3
                off += (ln + 3) & ~3


if __name__ == '__main__':
    main()
