"""Debian's libimobiledevice tools against the virtual device through
`ibackup muxd`: ideviceinfo, idevicepair pair/validate/unpair, and pair
records shared both ways between idevicepair and ibackup."""
import clitest
from clitest import case

TOOLS = ['idevice_id', 'ideviceinfo', 'idevicepair']


def setup(t, devices=1, seed=20):
    if not all(clitest.have(x) for x in TOOLS):
        print('SKIP: libimobiledevice-utils not installed')
        raise SystemExit(clitest.SKIP)
    sim = t.sim(devices=devices, seed=seed)
    mux = t.muxd(sim)
    env = dict(t.env)
    env['USBMUXD_SOCKET_ADDRESS'] = 'UNIX:' + mux
    return sim, mux, env


@case
def idevice_tools_list_and_read_values(t):
    sim, mux, env = setup(t, devices=2, seed=21)
    r = t.run(['idevice_id', '-l'], env=env)
    t.expect(r.code == 0 and len(r.out.split()) == 2, 'idevice_id lists both', r)
    udid = r.out.split()[0]
    r = t.run(['ideviceinfo', '-u', udid, '-s'], env=env)
    t.expect(r.code == 0 and 'DeviceName' in r.out and 'UniqueDeviceID: ' + udid in r.out,
             'ideviceinfo -s (unpaired) prints values', r)


@case
def idevicepair_pairing_is_used_by_ibackup(t):
    sim, mux, env = setup(t, seed=22)
    udid = t.run(['idevice_id', '-l'], env=env).out.split()[0]
    r = t.run(['idevicepair', '-u', udid, 'pair'], env=env)
    t.expect(r.code == 0 and 'SUCCESS' in r.out, 'idevicepair pair', r)
    r = t.run(['idevicepair', '-u', udid, 'validate'], env=env)
    t.expect(r.code == 0 and 'SUCCESS' in r.out, 'idevicepair validate', r)
    r = t.run(['ideviceinfo', '-u', udid, '-k', 'ProductVersion'], env=env)
    t.expect(r.code == 0 and r.out.strip(), 'ideviceinfo with a session', r)
    # ibackup reads the same store (the muxd serves t.records).
    r = t.ibackup(['info', '--json'], sim=sim)
    t.expect(r.code == 0 and r.json()['paired'] is True,
             'ibackup info uses the idevicepair pairing without asking', r)
    r = t.ibackup(['info', '--json'], muxd=mux)
    t.expect(r.code == 0 and r.json()['paired'] is True, 'also through usbmuxd', r)
    r = t.run(['idevicepair', '-u', udid, 'unpair'], env=env)
    t.expect(r.code == 0 and 'SUCCESS' in r.out, 'idevicepair unpair', r)
    r = t.ibackup(['validate'], sim=sim)
    t.expect(r.code == 4, 'after unpair ibackup is not paired', r)


@case
def ibackup_pairing_is_used_by_idevice_tools(t):
    sim, mux, env = setup(t, seed=23)
    r = t.ibackup(['pair'], sim=sim)
    t.expect(r.code == 0, 'ibackup pair', r)
    udid = t.run(['idevice_id', '-l'], env=env).out.split()[0]
    r = t.run(['idevicepair', '-u', udid, 'validate'], env=env)
    t.expect(r.code == 0 and 'SUCCESS' in r.out, 'idevicepair validates ibackup\'s record', r)
    r = t.run(['ideviceinfo', '-u', udid, '-q', 'com.apple.disk_usage', '-k', 'TotalDiskCapacity'],
              env=env)
    t.expect(r.code == 0 and r.out.strip().isdigit(), 'session-only value via ideviceinfo', r)


clitest.main()
