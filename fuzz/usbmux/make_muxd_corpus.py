#!/usr/bin/env python3
"""Seed corpora for fuzz_muxd_server (client -> server bytes) and
fuzz_muxd_client (server -> client bytes).

    make_muxd_corpus.py CORPUS_ROOT                 the documented cases
    make_muxd_corpus.py CORPUS_ROOT --record SOCK   also record live
        exchanges: a relay in front of the usbmuxd-compatible server at SOCK
        while libimobiledevice's idevice_id and inetcat talk through it

Every seed starts with one byte that the harnesses read as the chunk size
(0 = all at once). The documented cases are the exact bytes of usbmux.md
section 3.3 and its Appendix (Apple's daemon: replies without MessageType,
negative PortNumber) and usbmuxd2's version-0 plist replies.
"""
import os
import plistlib
import socket
import struct
import subprocess
import sys
import threading


def header(length, version, msgtype, tag):
    return struct.pack('<IIII', length, version, msgtype, tag)


def plist_msg(d, tag, version=1):
    body = plistlib.dumps(d, fmt=plistlib.FMT_XML)
    return header(16 + len(body), version, 8, tag) + body


def binary(msgtype, tag, payload=b'', version=0):
    return header(16 + len(payload), version, msgtype, tag) + payload


def request(kind, tag, **extra):
    # The keys libusbmuxd 2.0 sends with every request.
    d = {'BundleID': 'org.libimobiledevice.fuzz', 'ClientVersionString': 'libusbmuxd 2.0.2',
         'MessageType': kind, 'ProgName': 'idevice_id', 'kLibUSBMuxVersion': 3}
    d.update(extra)
    return plist_msg(d, tag)


UDID = '00008020-001234560E38002E'
PROPS = {'ConnectionSpeed': 480000000, 'ConnectionType': 'USB', 'DeviceID': 1,
         'LocationID': 34803712, 'ProductID': 4776, 'SerialNumber': UDID, 'UDID': UDID,
         'USBSerialNumber': UDID.replace('-', '')}
RECORD = plistlib.dumps({'HostID': 'A1B2C3D4-0000-4000-8000-000000000001',
                         'SystemBUID': '00112233-4455-6677-8899-AABBCCDDEEFF'})


def server_seeds():
    s = {}
    # usbmux.md 3.3: binary CONNECT, device 1, port 62078, tag 1.
    s['doc_binary_connect'] = bytes.fromhex(
        '18000000 00000000 02000000 01000000 01000000 F27E 0000'.replace(' ', ''))
    s['binary_listen'] = binary(3, 1)
    s['binary_connect_echo_then_payload'] = binary(2, 2, struct.pack('<I', 1) +
                                                   struct.pack('>H', 7) + b'\0\0') + b'hello'
    s['binary_unknown_type'] = binary(7, 3, b'xxxx')
    s['bad_version'] = binary(3, 4, version=2)
    s['short_length'] = header(8, 0, 3, 5)
    s['plist_listen'] = request('Listen', 1)
    s['plist_list_devices'] = request('ListDevices', 1)
    s['plist_list_listeners'] = request('ListListeners', 1)
    s['plist_read_buid'] = request('ReadBUID', 1)
    s['plist_connect_lockdown'] = request('Connect', 2, DeviceID=1, PortNumber=32498)
    s['plist_connect_echo'] = request('Connect', 2, DeviceID=1, PortNumber=1792) + b'raw'
    # Appendix: Apple's clients, signed PortNumber -27408 = port 61588.
    s['apple_connect_negative_port'] = plist_msg(
        {'BundleID': 'com.apple.dt.Xcode', 'ClientVersionString': 'usbmuxd-511.10.5',
         'DeviceID': 3, 'MessageType': 'Connect', 'PortNumber': -27408, 'ProcessID': 4242,
         'ProgName': 'Xcode', 'kLibUSBMuxVersion': 3}, 11)
    s['apple_listen_conntype'] = plist_msg(
        {'BundleID': 'com.apple.dt.Xcode', 'ClientVersionString': 'usbmuxd-511.10.5',
         'ConnType': 1, 'MessageType': 'Listen', 'ProcessID': 4242, 'ProgName': 'Xcode',
         'kLibUSBMuxVersion': 3}, 1)
    s['pair_record_round_trip'] = (
        request('SavePairRecord', 1, PairRecordID=UDID, PairRecordData=RECORD, DeviceID=1) +
        request('ReadPairRecord', 2, PairRecordID=UDID) +
        request('DeletePairRecord', 3, PairRecordID=UDID) +
        request('ReadPairRecord', 4, PairRecordID='00008030-001A2B3C4D5E6F70'))
    s['unknown_message_type'] = request('Frobnicate', 9)
    s['conversation'] = (request('ListDevices', 1) + request('ReadBUID', 2) +
                         binary(7, 3) + request('Connect', 4, DeviceID=2, PortNumber=1792) +
                         b'payload after the connect')
    s['listen_then_command'] = request('Listen', 1) + request('ListDevices', 2)
    return {k: b'\0' + v for k, v in s.items()} | {
        'conversation_bytewise': b'\x01' + s['conversation'],
        'pair_record_chunks7': b'\x07' + s['pair_record_round_trip'],
    }


def client_seeds():
    s = {}
    s['binary_result_ok'] = binary(1, 1, struct.pack('<I', 0))
    s['binary_result_refused'] = binary(1, 2, struct.pack('<I', 3))
    serial = UDID.replace('-', '').encode().ljust(256, b'\0')
    s['binary_device_add'] = binary(4, 0, struct.pack('<IH', 5, 0x12a8) + serial +
                                    struct.pack('<HI', 0, 0x00140003))
    s['binary_device_remove'] = binary(5, 0, struct.pack('<I', 5))
    s['binary_device_paired'] = binary(6, 0, struct.pack('<I', 5))
    s['plist_result'] = plist_msg({'MessageType': 'Result', 'Number': 0}, 1)
    # usbmuxd2: plist replies with header version 0.
    s['version0_plist_result'] = plist_msg({'MessageType': 'Result', 'Number': 0}, 1, version=0)
    s['plist_result_enoent'] = plist_msg({'MessageType': 'Result', 'Number': 2}, 3)
    attached = {'DeviceID': 1, 'MessageType': 'Attached', 'Properties': PROPS}
    s['apple_attached'] = plist_msg(attached, 0)
    s['plist_detached'] = plist_msg({'DeviceID': 1, 'MessageType': 'Detached'}, 0)
    s['plist_paired'] = plist_msg({'DeviceID': 1, 'MessageType': 'Paired'}, 0)
    s['device_list'] = plist_msg({'DeviceList': [attached, {
        'DeviceID': 2, 'MessageType': 'Attached',
        'Properties': dict(PROPS, DeviceID=2, ConnectionType='Network',
                           NetworkAddress=bytes.fromhex('1002f27ec0a80002' + '00' * 8),
                           SerialNumber='0123456789abcdef0123456789abcdef01234567')}]}, 1)
    # Appendix: {BUID} and {PairRecordData} have no MessageType.
    s['apple_buid'] = plist_msg({'BUID': '00112233-4455-6677-8899-AABBCCDDEEFF'}, 2)
    s['apple_pair_record_data'] = plist_msg({'PairRecordData': RECORD}, 3)
    s['listener_list'] = plist_msg({'ListenerList': [
        {'Blacklisted': False, 'ConnType': 0, 'ID String': '1-idevice_id',
         'ProgName': 'idevice_id', 'kLibUSBMuxVersion': 3}]}, 4)
    s['listen_session'] = (plist_msg({'MessageType': 'Result', 'Number': 0}, 1) +
                           plist_msg(attached, 0) +
                           plist_msg(dict(attached, DeviceID=2,
                                          Properties=dict(PROPS, DeviceID=2)), 0) +
                           plist_msg({'DeviceID': 1, 'MessageType': 'Detached'}, 0) +
                           plist_msg({'DeviceID': 2, 'MessageType': 'Paired'}, 0) +
                           plist_msg(attached, 0))
    s['binary_listen_session'] = (s['binary_result_ok'] + s['binary_device_add'] +
                                  s['binary_device_paired'] + s['binary_device_remove'])
    out = {k: b'\0' + v for k, v in s.items()}
    out['listen_session_bytewise'] = b'\x01' + s['listen_session']
    out['listen_session_chunks13'] = b'\x0d' + s['listen_session']
    return out


def relay(sock_path, front_path, log):
    """Accept on front_path, relay to sock_path, log both directions."""
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(front_path)
    lsock.listen(16)

    def pump(src, dst, buf):
        while True:
            b = src.recv(65536)
            if not b:
                break
            buf += b
            dst.sendall(b)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def serve():
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock_path)
            c2s, s2c = bytearray(), bytearray()
            log.append((c2s, s2c))
            threading.Thread(target=pump, args=(c, s, c2s), daemon=True).start()
            threading.Thread(target=pump, args=(s, c, s2c), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return lsock


def record(sock_path):
    front = sock_path + '.relay'
    if os.path.exists(front):
        os.unlink(front)
    log = []
    lsock = relay(sock_path, front, log)
    env = dict(os.environ, USBMUXD_SOCKET_ADDRESS='UNIX:' + front)
    runs = [('idevice_id', ['idevice_id', '-l'], b''),
            ('inetcat_echo', ['inetcat', '7'], None)]
    seeds_c2s, seeds_s2c = {}, {}
    for name, argv, data in runs:
        del log[:]
        if data is None:
            p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            p.stdin.write(b'echo me')
            p.stdin.flush()
            p.stdout.read(7)
            p.stdin.close()
            p.wait(timeout=10)
        else:
            subprocess.run(argv, env=env, input=data, stdout=subprocess.DEVNULL, timeout=10)
        import time
        time.sleep(0.3)
        for i, (c2s, s2c) in enumerate(log):
            seeds_c2s['rec_%s_%d' % (name, i)] = b'\0' + bytes(c2s)
            seeds_s2c['rec_%s_%d' % (name, i)] = b'\0' + bytes(s2c)
    lsock.close()
    os.unlink(front)
    return seeds_c2s, seeds_s2c


def write(root, name, seeds):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    for k, v in sorted(seeds.items()):
        with open(os.path.join(d, k), 'wb') as f:
            f.write(v)


def main():
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != '--record'):
        print(__doc__)
        return 2
    root = sys.argv[1]
    srv, cli = server_seeds(), client_seeds()
    if len(sys.argv) == 4:
        c2s, s2c = record(sys.argv[3])
        srv.update(c2s)
        cli.update(s2c)
    write(root, 'muxd_server', srv)
    write(root, 'muxd_client', cli)
    return 0


if __name__ == '__main__':
    sys.exit(main())
