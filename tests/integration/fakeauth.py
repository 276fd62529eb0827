"""A tiny fake MySQL server (Python stdlib only) that tries to make a client give its
password away: it answers every connection's handshake response with an auth switch to a
plugin that sends the secret as typed (mysql_clear_password or dialog), then records
everything the client sends afterwards and refuses the login.

    srv = FakeAuthServer('mysql_clear_password'); srv.start()
    ... connect a client to 127.0.0.1:srv.port ...
    srv.stop(); srv.received  # bytes the client sent after the handshake response
    srv.connections           # how many clients connected
"""
import os
import socket
import struct
import threading

CAPS = (0x00000001 | 0x00000004 | 0x00000008 | 0x00000200 | 0x00002000 | 0x00008000
        | 0x00010000 | 0x00020000 | 0x00080000)


def _packet(seq, payload):
    return struct.pack('<I', len(payload))[:3] + bytes([seq & 0xff]) + payload


def _read_packet(conn):
    hdr = b''
    while len(hdr) < 4:
        chunk = conn.recv(4 - len(hdr))
        if not chunk:
            return None, None
        hdr += chunk
    n = hdr[0] | hdr[1] << 8 | hdr[2] << 16
    body = b''
    while len(body) < n:
        chunk = conn.recv(n - len(body))
        if not chunk:
            return hdr[3], body
        body += chunk
    return hdr[3], body


class FakeAuthServer:
    def __init__(self, plugin='mysql_clear_password'):
        self.plugin = plugin
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b''
        self.handshake_responses = b''
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            conn.settimeout(2.0)
            try:
                self._one(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def _one(self, conn):
        scramble = os.urandom(20).replace(b'\0', b'x')
        hs = (b'\x0a' + b'5.5.5-10.11.99-MariaDB-fake\x00' + struct.pack('<I', 7) + scramble[:8] + b'\x00'
              + struct.pack('<H', CAPS & 0xffff) + bytes([45]) + struct.pack('<H', 2)
              + struct.pack('<H', CAPS >> 16) + bytes([21]) + b'\x00' * 10 + scramble[8:] + b'\x00'
              + b'mysql_native_password\x00')
        conn.sendall(_packet(0, hs))
        seq, body = _read_packet(conn)
        if body is None:
            return
        self.handshake_responses += body
        data = scramble if self.plugin == 'mysql_clear_password' else b'\x04Password: '
        conn.sendall(_packet(seq + 1, b'\xfe' + self.plugin.encode() + b'\x00' + data))
        while True:
            try:
                seq, body = _read_packet(conn)
            except socket.timeout:
                break
            if body is None:
                break
            self.received += body
            if not body:
                break
            err = b'\xff' + struct.pack('<H', 1045) + b'#28000' + b'Access denied (fake server)'
            conn.sendall(_packet(seq + 1, err))
            break
