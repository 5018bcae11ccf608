"""`ibackup pair|unpair|validate|info` against the virtual device's
Trust and passcode scenarios: messages, exit statuses, and that a failed
pairing leaves no record behind."""
import glob
import os
import re
import threading

import clitest
from clitest import case

PROMPT = 'Unlock the iPhone, tap Trust, and enter its passcode'


def one_udid(t, sim):
    r = t.ibackup(['devices', '--json'], sim=sim)
    t.expect(r.code == 0 and len(r.json()) == 1, 'one device', r)
    return r.json()[0]['udid']


def records(t):
    return [p for p in glob.glob(os.path.join(t.records, '*'))
            if not p.endswith('SystemConfiguration.plist')]


@case
def pair_accept_then_info_and_validate(t):
    sim = t.sim(seed=1)
    udid = one_udid(t, sim)
    r = t.ibackup(['info', '--json'], sim=sim)
    t.expect(r.code == 0 and r.json()['paired'] is False, 'unpaired info', r)
    r = t.ibackup(['validate'], sim=sim)
    t.expect(r.code == 4 and 'ibackup pair' in r.err, 'validate unpaired -> 4', r)
    r = t.ibackup(['pair'], sim=sim)
    t.expect(r.code == 0 and PROMPT in r.err, 'pair prints the prompt and succeeds', r)
    recs = records(t)
    t.expect(len(recs) == 1 and udid in recs[0], 'one record named by UDID', recs)
    t.expect(os.stat(recs[0]).st_mode & 0o777 == 0o600, 'record is 0600')
    r = t.ibackup(['validate'], sim=sim)
    t.expect(r.code == 0, 'validate paired', r)
    r = t.ibackup(['info', '--json'], sim=sim)
    j = r.json()
    t.expect(r.code == 0 and j['paired'] is True and j['capacity_bytes'] > 0, 'paired info', r)
    t.expect(j['backup_encryption'] is False and j['battery_percent'] >= 0, 'values', r)
    r = t.ibackup(['info'], sim=sim)
    for label in ('Name:', 'Model:', 'iOS:', 'Capacity:', 'Battery:', 'Backup encryption:',
                  'Paired:            yes'):
        t.expect(label in r.out, f'summary has {label}', r)
    r = t.ibackup(['info', '--domain', 'com.apple.mobile.battery', '--json'], sim=sim)
    t.expect(r.code == 0 and 'BatteryCurrentCapacity' in r.json(), 'raw domain', r)
    r = t.ibackup(['info', '--key', 'ProductVersion'], sim=sim)
    t.expect(r.code == 0 and re.match(r'^\d+\.\d', r.out), 'raw key', r)
    r = t.ibackup(['unpair'], sim=sim)
    t.expect(r.code == 0 and records(t) == [], 'unpair deletes the record', r)
    r = t.ibackup(['validate'], sim=sim)
    t.expect(r.code == 4, 'validate after unpair -> 4', r)


@case
def pair_pending_keeps_asking(t):
    sim = t.sim(knobs=['trust=pending:3'], seed=2)
    r = t.ibackup(['pair'], sim=sim, timeout=60)
    t.expect(r.code == 0, 'pending then accepted', r)
    t.expect(r.err.count(PROMPT) == 1, 'prompt said once', r)


@case
def pair_denied_exit_5_no_record(t):
    sim = t.sim(knobs=['trust=deny'], seed=3)
    r = t.ibackup(['pair'], sim=sim)
    t.expect(r.code == 5, 'denied -> exit 5', r)
    t.expect("Don't Trust" in r.err, 'says the user tapped Don\'t Trust', r)
    t.expect(records(t) == [], 'no record after a denial', records(t))


@case
def pair_timeout_exit_6_no_record(t):
    sim = t.sim(knobs=['trust=manual'], seed=4)
    r = t.ibackup(['pair', '--timeout', '2'], sim=sim, timeout=60)
    t.expect(r.code == 6, 'timeout -> exit 6', r)
    t.expect(PROMPT in r.err and 'in time' in r.err, 'prompt and timeout sentence', r)
    t.expect(records(t) == [], 'no record after a timeout', records(t))


@case
def pair_manual_trust_by_control(t):
    sim = t.sim(knobs=['trust=manual'], seed=5)
    udid = one_udid(t, sim)
    timer = threading.Timer(2.0, lambda: t.sim_control(sim, 'trust', udid=udid))
    timer.start()
    r = t.ibackup(['pair', '--timeout', '30'], sim=sim, timeout=60)
    timer.join()
    t.expect(r.code == 0 and len(records(t)) == 1, 'accepted after the tap', r)


@case
def pair_locked_says_unlock_and_waits(t):
    sim = t.sim(knobs=['locked=1'], seed=6)
    udid = one_udid(t, sim)
    timer = threading.Timer(2.0, lambda: t.sim_control(sim, 'unlock', udid=udid))
    timer.start()
    r = t.ibackup(['pair', '--timeout', '30'], sim=sim, timeout=60)
    timer.join()
    t.expect(r.code == 0, 'paired after unlock', r)
    t.expect('lock' in r.err.lower(), 'told the user to unlock', r)


@case
def forgotten_pairing_says_run_pair(t):
    sim = t.sim(seed=11)
    udid = one_udid(t, sim)
    t.expect(t.ibackup(['pair'], sim=sim).code == 0, 'paired')
    r = t.sim_control(sim, 'reset-privacy', udid=udid)
    t.expect(r.code == 0, 'reset privacy', r)
    r = t.ibackup(['validate'], sim=sim)
    t.expect(r.code == 4 and 'ibackup pair' in r.err, 'stale record -> exit 4, run pair', r)


@case
def no_secrets_in_logs_at_vvv(t):
    sim = t.sim(seed=12)
    r1 = t.ibackup(['-vvv', 'pair'], sim=sim)
    r2 = t.ibackup(['-vvv', 'info'], sim=sim)
    t.expect(r1.code == 0 and r2.code == 0, 'pair and info', (r1, r2))
    rec = open(records(t)[0]).read()
    # Every PEM private key and the escrow bag as stored in the record.
    secrets = re.findall(r'<key>(HostPrivateKey|RootPrivateKey|EscrowBag)</key>\s*<data>([^<]+)</data>', rec)
    t.expect(len(secrets) == 3, 'record has the secrets to look for', rec[:200])
    logs = r1.err + r2.err
    t.expect(len(logs) > 1000, 'trace output present')
    for name, b64 in secrets:
        frag = ''.join(b64.split())[20:60]
        t.expect(frag not in ''.join(logs.split()), f'{name} not in the logs')
    t.expect('PRIVATE KEY' not in logs, 'no PEM private key in the logs')


clitest.main()
