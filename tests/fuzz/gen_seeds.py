#!/usr/bin/env python3
# Writes the hand-made seeds of fuzz-switch, fuzz-virtio-rng,
# fuzz-virtio-console and fuzz-net-offload into tests/fuzz/corpus/ (each
# input encodes the ops its target reads: see the targets' sources).
# Run it again after changing how a target reads its input.
# (fuzz-switch/hangup-with-queued-frames and
# fuzz-net-offload/tcp4-mss-1-many-segments came from the fuzzers.)
import os, struct
R=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus') + '/'
def w(name, fn, b):
    os.makedirs(R+name, exist_ok=True)
    open(R+name+'/'+fn,'wb').write(bytes(b))
le=lambda v,n: list(v.to_bytes(n,'little'))
# ---- switch ----
def peer_send(op_i, dst, src, sel): return [3 | (op_i << 4)] + [dst, src] + le(sel, 2)
def guest_recv(n): return [2] + le(n, 2)
def guest_send(cut, dst, src, sel, bcut=0): return [0, cut, dst, src] + le(sel, 2) + [bcut]
learn = [0x05] + peer_send(0, 0, 3, 40) + guest_recv(1600) + guest_send(0x81, 3, 6, 40) + [5] + guest_send(0x80, 0, 6, 40) + [5]
w('fuzz-switch', 'learn-then-unicast', learn)
# many large unicast frames nobody reads: back-pressure, the stall timer, then drain
bp = [0x05] + peer_send(0, 0, 3, 40) + guest_recv(1600)
for _ in range(240): bp += guest_send(0x01, 3, 6, 0x8000 + 831)
bp += [0x63, 5, 8] + guest_send(0x81, 3, 6, 40)
w('fuzz-switch', 'backpressure-stall', bp)
# a peer floods fresh sources, the table fills and cycles
fl = [0x05, 4, 79, 0x02] + guest_recv(1600) * 80 + guest_send(0x81, 3, 6, 40) + [5]
w('fuzz-switch', 'table-flood', fl)
# a peer connects to the port, sends on that connection, hangs up
cn = [0x05, 6, 8, 5] + peer_send(1, 0, 4, 40) + guest_recv(1600) + guest_send(0x81, 4, 6, 40) + [5, 0x17, 8] + guest_send(0x81, 4, 6, 40) + [5, 0x97, 8]
w('fuzz-switch', 'accepted-hangup', cn)
# short and oversized frames both ways, split destinations
sh = [0x06] + peer_send(0, 0, 3, 0x8000 + 5) + peer_send(0, 0, 3, 0x8000 + 2090) + guest_recv(100) + guest_recv(4000) + guest_send(0x05, 3, 6, 0x8000 + 3, 2) + guest_send(0x06, 0x80, 6, 0x8000 + 40, 1) + [0xff, 1,2,3,4,5,6]
w('fuzz-switch', 'short-long-split', sh)
# ---- rng ----
def chain(first, shape, wbits, segs):
    b = [1, first, shape, wbits]
    for lk, addr, ln in segs:
        b += [lk]
        b += le(addr, 5) if lk & 4 else le(addr, 3)
        b += [] if lk & 3 == 3 else le(ln, {0: 1, 1: 2, 2: 4}[lk & 3])
    return b
rng = [0x03 | (6 << 2)] + chain(0, 0, 1, [(1, 0, 64)]) + [0x23] + chain(1, 2, 6, [(1, 0x100, 16), (1, 0x200, 4096), (3, 0x1000, 0)]) + [0x23] \
    + chain(4, 0x40, 3, [(1, 0, 128), (2, 0x300, 0xffffffff)]) + [0x23] + chain(5, 0x80 | 0x20 | 1, 3, [(1, 0, 8), (1, 8, 8)]) + [0x23, 0x25]
w('fuzz-virtio-rng', 'shapes', rng)
w('fuzz-virtio-rng', 'readonly-huge-outside', [0x02 | (6 << 2)] + chain(0, 1, 0, [(1, 0, 64), (1, 64, 64)]) + [0x23] + chain(2, 0, 1, [(6, 0x7fffffff00, 0xffff)]) + [0x23] + chain(3, 0, 1, [(3, 0, 0)]) + [0x23])
# ---- console ----
def cchain(q, first, shape, wbits, segs):
    b = chain(first, shape, wbits, segs); b[0] = 1 | (q << 3); return b
def hsend(data): return [5, len(data)] + list(data)
base = cchain(0, 0, 0, 1, [(1, 0, 64)]) + hsend(b'hello guest\n') + [4, 0x23] + cchain(1, 0, 1, 0, [(1, 0x100, 16), (1, 0x200, 32)]) + [0x2b, 4]
w('fuzz-virtio-console', 'socketpair', [0x00, 6, 6] + base + cchain(0, 1, 0, 1, [(1, 0x400, 64)]) + [0x23, 6, 4, 0x23])
w('fuzz-virtio-console', 'pipes', [0x01, 6, 6] + base + cchain(0, 1, 0, 1, [(1, 0x400, 64)]) + [0x23, 6, 4, 0x23])
w('fuzz-virtio-console', 'listen', [0x02, 6, 6, 0x16, 4] + base + [0x16, 4, 6, 4, 0x16, 4] + hsend(b'again') + cchain(0, 1, 0, 1, [(1, 0x400, 64)]) + [0x23, 4])
w('fuzz-virtio-console', 'output-only-multiport', [0x13, 6, 6] + base + [0x97, 0x17, 0x2b])
# ---- net offload ----
import struct as st
def off_seed(mode, gso_size, csum_start, csum_off, payload):
    hdr = st.pack('<BBHHHHH', 1, 1, 54, gso_size, csum_start, csum_off, 0)
    l3 = 18 if mode & 4 else 14
    l4 = l3 + (40 if mode & 2 else 20)
    frame = bytearray(l4 + 20 + payload)
    for i in range(l4 + 20, len(frame)): frame[i] = i & 0xff
    frame[0:6] = b'\x02\0\0\0\0\x02'; frame[6:12] = b'\x02\0\0\0\0\x01'
    return bytes([mode]) + hdr + bytes(frame)
w('fuzz-net-offload', 'tcp4-tso', off_seed(0x19, 500, 34, 16, 2000))
w('fuzz-net-offload', 'tcp6-vlan-tso', off_seed(0x1f, 1400, 58, 16, 4000))
w('fuzz-net-offload', 'tcp4-small-mss', off_seed(0x19, 1, 34, 16, 40))
tx = cchain(1, 2, 0, 0, [(1, 0x100, 16)]) + [0x2b]
w('fuzz-virtio-console', 'listen-peer-gone-epipe', [0x02, 6, 6, 0x16, 4] + tx + [0x46] + tx + [4, 0x16, 4] + hsend(b'second') + cchain(0, 0, 0, 1, [(1, 0x400, 64)]) + [0x23] + tx + [4])
w('fuzz-virtio-console', 'socketpair-peer-gone-epipe', [0x00, 6, 6] + tx + [0x46] + tx + tx + [4])
# a station's connection dies under a unicast (EPIPE), its VM dies leaving its file (ECONNREFUSED, unlinked when the next VM joins), runt frames
dead = [0x05] + peer_send(0, 0, 3, 40) + guest_recv(1600) + [7] + guest_send(0x81, 3, 6, 40) + [0x89, 8, 0x1a] + guest_send(0x81, 0, 6, 40) + [5] \
    + peer_send(0, 0, 3, 0x8000 + 837) + guest_recv(1600) + guest_send(0x81, 0, 6, 0x8000 + 837) + [5]
w('fuzz-switch', 'dead-peers-runts', dead)
