#!/usr/bin/env python3
"""Write the seed corpora of the AFC and notification_proxy fuzz harnesses
(fuzz/corpus/afc, fuzz/corpus/np): what a device sends in the exchanges
a backup and a restore make (lockdown.md section 7). The first byte of
each seed picks the harness's chunk size."""
import os
import plistlib
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fuzz', 'corpus')


def afc(num, op, hdata=b'', payload=b''):
    this = 40 + len(hdata)
    return (b'CFA6LPAA' + struct.pack('<QQQQ', this + len(payload), this, num, op)
            + hdata + payload)


def status(num, code):
    return afc(num, 0x01, struct.pack('<Q', code))


def frame(obj, binary=False):
    body = plistlib.dumps(obj, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML)
    return struct.pack('>I', len(body)) + body


INFO = (b'st_size\x00' b'1234\x00st_blocks\x00' b'8\x00st_nlink\x00' b'1\x00'
        b'st_ifmt\x00S_IFREG\x00st_mtime\x00' b'1700000000000000000\x00'
        b'st_birthtime\x00' b'1700000000000000000\x00')

AFC_SEEDS = {
    # FileOpen -> handle, FileLock busy, FileLock ok, unlock, close.
    'sync_lock_busy_then_ok': b'\x07' + afc(1, 0x0E, struct.pack('<Q', 3)) + status(2, 19)
    + status(3, 0) + status(4, 0) + status(5, 0),
    'sync_lock_held': b'\x00' + afc(1, 0x0E, struct.pack('<Q', 3)) + b''.join(
        status(n, 19) for n in range(2, 8)),
    'file_info': b'\x05' + afc(1, 0x02, b'', INFO),
    'file_read': b'\x3f' + afc(1, 0x0E, struct.pack('<Q', 9)) + afc(2, 0x02, b'', plistlib.dumps(
        {'Applications': {'com.example.notes': {}}})) + afc(3, 0x02) + status(4, 0),
    # MakeDir, FileOpen, FileWrite, FileClose, RemovePath x2 (dir not empty).
    'restore_apps_write': b'\x11' + status(1, 0) + afc(2, 0x0E, struct.pack('<Q', 4))
    + status(3, 0) + status(4, 0) + status(5, 1) + status(6, 0) + status(7, 0),
    'status_in_payload': b'\x02' + afc(1, 0x01, b'', struct.pack('<Q', 8)),
    'not_found': b'\x01' + status(1, 8),
    # Every reply fuzz_afc's client steps expect, in order: sync lock (busy
    # once), file info, open + read, MakeDir, open + write + close,
    # RemovePath, unlock + close.
    'client_steps_all_ok': b'\x09' + afc(1, 0x0E, struct.pack('<Q', 3)) + status(2, 19)
    + status(3, 0) + afc(4, 0x02, b'', INFO) + afc(5, 0x0E, struct.pack('<Q', 4))
    + afc(6, 0x02, b'', b'bplist00') + status(7, 0) + afc(8, 0x0E, struct.pack('<Q', 5))
    + status(9, 0) + status(10, 0) + status(11, 0) + status(12, 0) + status(13, 0),
    # The host's FileOpen of the lock file from a real dump (LIMD#205).
    'lock_open_request': b'\x08' + afc(1, 0x0D, struct.pack('<Q', 2)
                                       + b'/com.apple.itunes.lock_sync\x00'),
}

NP_SEEDS = {
    'relay_la_presented': b'\x00' + frame({'Command': 'RelayNotification',
                                           'Name': 'com.apple.LocalAuthentication.ui.presented'}),
    'relay_binary': b'\x10' + frame({'Command': 'RelayNotification',
                                     'Name': 'com.apple.itunes-client.syncCancelRequest'}, True),
    'relays_then_proxydeath': b'\x03' + b''.join(frame({'Command': 'RelayNotification', 'Name': n})
                                                 for n in ('com.apple.LocalAuthentication.ui.presented',
                                                           'com.apple.LocalAuthentication.ui.dismissed',
                                                           'com.apple.mobile.backup.domain_changed'))
    + frame({'Command': 'ProxyDeath'}),
    'proxydeath': b'\x7f' + frame({'Command': 'ProxyDeath'}),
    'unknown_command': b'\x01' + frame({'Command': 'Reboot', 'Name': 'x'}),
    'host_command_from_device': b'\x02' + frame({'Command': 'PostNotification',
                                                 'Name': 'com.apple.itunes-mobdev.syncWillStart'}),
}


def write(kind, seeds):
    d = os.path.join(ROOT, kind)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


def main():
    write('afc', AFC_SEEDS)
    write('np', NP_SEEDS)
    return 0


if __name__ == '__main__':
    sys.exit(main())
