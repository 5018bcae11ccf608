"""`ibackup devices` and device selection through the sim:PATH and the
usbmuxd transports (the usb transport is covered by test_cli_usb, which
runs the same command over the libusb test double)."""
import threading
import time

import clitest
from clitest import case


def sim_udids(t, sim):
    r = t.ibackup(['devices', '--json'], sim=sim)
    t.expect(r.code == 0, 'devices --json succeeds', r)
    return r.json()


@case
def devices_lists_every_virtual_device_over_sim(t):
    sim = t.sim(devices=2, seed=7)
    devs = sim_udids(t, sim)
    t.expect(len(devs) == 2, 'two devices', devs)
    for d in devs:
        t.expect(d['connection'] == 'sim', 'connection sim', d)
        t.expect(d['product_type'].startswith('iPhone'), 'product type read unpaired', d)
        t.expect(len(d['udid']) == 25 and d['udid'][8] == '-', 'hyphenated UDID', d)
        t.expect(d['speed_bps'] == 480000000, 'USB speed', d)
    r = t.ibackup(['devices'], sim=sim)
    t.expect(r.code == 0 and all(d['udid'] in r.out for d in devs), 'table lists UDIDs', r)
    t.expect('iPhone' in r.out and 'sim' in r.out, 'table shows product and connection', r)


@case
def devices_through_usbmuxd_transport(t):
    sim = t.sim(devices=2, seed=8)
    want = sorted(d['udid'] for d in sim_udids(t, sim))
    mux = t.muxd(sim)
    r = t.ibackup(['devices', '--json'], muxd=mux)
    t.expect(r.code == 0, 'devices via usbmuxd', r)
    got = r.json()
    t.expect(sorted(d['udid'] for d in got) == want, 'same UDIDs via usbmuxd', r)
    t.expect(all(d['connection'] == 'usbmuxd' for d in got), 'connection usbmuxd', r)
    t.expect(all(d['product_type'] for d in got), 'product type through the usbmuxd pipe', r)
    r = t.ibackup(['-v', 'devices'], muxd=mux)
    t.expect('usbmuxd' in r.err, '-v names the transport', r)


@case
def selection_needs_udid_when_several(t):
    sim = t.sim(devices=2, seed=9)
    devs = sim_udids(t, sim)
    r = t.ibackup(['info'], sim=sim)
    t.expect(r.code == 2, 'ambiguous -> exit 2', r)
    t.expect('choose one with -u' in r.err, 'says to use -u', r)
    t.expect(all(d['udid'] in r.err for d in devs), 'lists the devices', r)
    r = t.ibackup(['info', '--json'], sim=sim, udid=devs[1]['udid'].replace('-', ''))
    t.expect(r.code == 0 and r.json()['udid'] == devs[1]['udid'],
             '-u matches without the hyphen', r)
    r = t.ibackup(['info'], sim=sim, udid='00000000-0000000000000000')
    t.expect(r.code == 3, 'unknown UDID -> exit 3', r)


@case
def devices_wait_sees_a_late_device(t):
    sim = t.sim(devices=1, seed=10)
    udid = sim_udids(t, sim)[0]['udid']
    r = t.sim_control(sim, 'unplug', udid=udid)
    t.expect(r.code == 0, 'unplug', r)
    r = t.ibackup(['devices', '--json'], sim=sim)
    t.expect(r.code == 0 and r.json() == [], 'no device while unplugged', r)
    r = t.ibackup(['devices', '--wait', '--timeout', '1'], sim=sim)
    t.expect(r.code == 6, 'wait times out with exit 6', r)
    timer = threading.Timer(1.5, lambda: t.sim_control(sim, 'plug', udid=udid))
    timer.start()
    start = time.time()
    r = t.ibackup(['devices', '--wait', '--timeout', '20', '--json'], sim=sim)
    timer.join()
    t.expect(r.code == 0 and r.json()[0]['udid'] == udid, 'wait returns the device', r)
    t.expect(time.time() - start < 15, 'wait returned promptly')


@case
def bad_command_lines_exit_2(t):
    for args in (['devices', '--bogus'], ['nosuchcommand'], ['devices', 'extra'],
                 ['--transport', 'floppy', 'devices']):
        r = t.ibackup(args, records=False)
        t.expect(r.code == 2, f'exit 2 for {args}', r)


@case
def help_and_man_come_from_one_table(t):
    r = t.ibackup(['help'], records=False)
    t.expect(r.code == 0 and 'exit status' in r.out, 'help lists exit statuses', r)
    r2 = t.ibackup(['help', '--man'], records=False)
    t.expect(r2.code == 0 and r2.out.startswith('.TH IBACKUP 1'), 'man page', r2)
    for line in r.out.splitlines():
        if line.startswith('  ') and not line.startswith('   ') and line.split()[0].isalpha():
            cmd = line.split()[0]
            t.expect('.SS ' + cmd in r2.out, f'man page has command {cmd}', r2)
    r = t.ibackup(['devices', '--help'], records=False)
    t.expect(r.code == 0 and '--wait' in r.out, 'per-command help', r)


clitest.main()
