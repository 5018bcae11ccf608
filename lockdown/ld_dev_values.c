/*
 * ld_dev_values.c - the virtual lockdownd's values (see ld_dev_values.h).
 *
 * Key names and types follow real-device/lockdown-getvalue-keys.md; the
 * identifying values come from the simulated identity and are invented.
 */
#include "ld_dev_values.h"

#include "ib_err.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ldv {
	plist_t dflt;           /* default domain */
	plist_t domains;        /* domain name -> dict */
};

/* Readable without a session (lockdown-getvalue-keys.md D plus what
 * LIMD and usbmuxd read before pairing, lockdown.md section 2). */
static const char *const untrusted_keys[] = {
	"BuildVersion", "DeviceClass", "DeviceName", "DevicePublicKey",
	"HardwareModel", "ProductName", "ProductType", "ProductVersion",
	"ProtocolVersion", "TimeIntervalSince1970", "TimeZone",
	"TimeZoneOffsetFromUTC", "UniqueDeviceID", "Uses24HourClock",
	"WiFiAddress", "PasswordProtected",
};

/* Fixed by the hardware or the OS: SetValue answers ImmutableValue. */
static const char *const immutable_keys[] = {
	"BuildVersion", "CPUArchitecture", "ChipID", "DeviceClass",
	"DevicePublicKey", "HardwareModel", "ProductName", "ProductType",
	"ProductVersion", "SerialNumber", "UniqueChipID", "UniqueDeviceID",
	"WiFiAddress", "BluetoothAddress", "ModelNumber",
};

/* What a host may change (domain NULL = default). */
static const struct { const char *domain, *key; } settable[] = {
	{ NULL, "DeviceName" },
	{ NULL, "TimeZone" },
	{ "com.apple.international", "Language" },
	{ "com.apple.international", "Locale" },
	{ "com.apple.mobile.wireless_lockdown", "EnableWifiConnections" },
	{ "com.apple.mobile.wireless_lockdown", "EnableWifiDebugging" },
};

static int
in_list(const char *const *list, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], key) == 0)
			return 1;
	return 0;
}

static int
is_settable(const char *domain, const char *key)
{
	size_t i;

	for (i = 0; i < IB_ARRAY_LEN(settable); i++) {
		const char *d = settable[i].domain;

		if (strcmp(settable[i].key, key) == 0 &&
		    ((d == NULL && domain == NULL) ||
		    (d != NULL && domain != NULL && strcmp(d, domain) == 0)))
			return 1;
	}
	return 0;
}

static void
set_str(plist_t d, const char *key, const char *s)
{
	plist_dict_set_item(d, key, plist_new_string(s != NULL ? s : ""));
}

static void
set_uint(plist_t d, const char *key, uint64_t v)
{
	plist_dict_set_item(d, key, plist_new_uint(v));
}

static void
set_bool(plist_t d, const char *key, int v)
{
	plist_dict_set_item(d, key, plist_new_bool(v ? 1 : 0));
}

static plist_t
default_domain(const struct ld_device_config *c)
{
	plist_t d = plist_new_dict(), fam = plist_new_array();
	unsigned major = 0;
	char human[48];

	sscanf(c->product_version, "%u", &major);
	snprintf(human, sizeof(human), "%s", c->product_version);
	set_str(d, "ActivationState", "Activated");
	set_bool(d, "ActivationStateAcknowledged", 1);
	set_str(d, "BasebandStatus", "BBInfoAvailable");
	set_str(d, "BluetoothAddress", "a4:c3:f0:1b:22:7e");
	set_uint(d, "BoardId", 14);
	set_bool(d, "BrickState", 0);
	set_str(d, "BuildVersion", c->build_version);
	set_str(d, "CPUArchitecture", major >= 12 ? "arm64e" : major >= 7 ? "arm64" : "armv7s");
	set_uint(d, "ChipID", major >= 17 ? 33040 : major >= 12 ? 32800 : 35136);
	set_str(d, "DeviceClass", c->device_class);
	set_str(d, "DeviceColor", "1");
	set_str(d, "DeviceName", c->device_name);
	set_str(d, "FirmwareVersion", major >= 17 ? "iBoot-10151.122.1" : "iBoot-4076.0.0.1.1");
	set_str(d, "HardwareModel", major >= 17 ? "D17AP" : major >= 12 ? "N61AP" : "N41AP");
	set_str(d, "HardwarePlatform", major >= 17 ? "t8110" : major >= 12 ? "t7000" : "s5l8950x");
	set_str(d, "HumanReadableProductVersionString", human);
	set_str(d, "ModelNumber", "MLPF3");
	set_str(d, "ProductName", "iPhone OS");
	set_str(d, "ProductType", c->product_type);
	set_str(d, "ProductVersion", c->product_version);
	set_str(d, "ProtocolVersion", "2");
	set_str(d, "RegionInfo", "LL/A");
	set_str(d, "SerialNumber", c->serial_number);
	plist_array_append_item(fam, plist_new_uint(1));
	plist_dict_set_item(d, "SupportedDeviceFamilies", fam);
	set_bool(d, "TelephonyCapability", 1);
	set_str(d, "TimeZone", "Europe/Paris");
	plist_dict_set_item(d, "TimeZoneOffsetFromUTC", plist_new_real(3600.0));
	set_uint(d, "UniqueChipID", c->ecid);
	set_str(d, "UniqueDeviceID", c->udid);
	set_bool(d, "Uses24HourClock", 1);
	set_str(d, "WiFiAddress", c->wifi_address);
	return d;
}

/* 128 GB device, about half full. */
#define DISK_TOTAL 128000000000ull
#define DISK_SYSTEM 12000000000ull
#define DISK_DATA_FREE 61234567168ull

static plist_t
disk_usage(void)
{
	plist_t d = plist_new_dict();

	set_uint(d, "TotalDiskCapacity", DISK_TOTAL);
	set_uint(d, "TotalSystemCapacity", DISK_SYSTEM);
	set_uint(d, "TotalSystemAvailable", 2100000000ull);
	set_uint(d, "TotalDataCapacity", DISK_TOTAL - DISK_SYSTEM);
	set_uint(d, "TotalDataAvailable", DISK_DATA_FREE);
	set_uint(d, "AmountDataAvailable", DISK_DATA_FREE);
	set_uint(d, "AmountDataReserved", 209715200ull);
	set_uint(d, "NANDInfo", 0);
	return d;
}

static plist_t
wireless(const struct ld_device_config *c)
{
	plist_t d = plist_new_dict();
	char name[128];

	snprintf(name, sizeof(name), "%s@fe80::%c%c%c%c:%c%c%c%c._apple-mobdev2._tcp.local.",
	    c->wifi_address, c->wifi_address[0], c->wifi_address[1],
	    c->wifi_address[3], c->wifi_address[4], c->wifi_address[6],
	    c->wifi_address[7], c->wifi_address[9], c->wifi_address[10]);
	set_str(d, "BonjourFullServiceName", name);
	set_bool(d, "EnableWifiConnections", 0);
	set_bool(d, "EnableWifiDebugging", 0);
	set_bool(d, "SupportsWifi", 1);
	set_bool(d, "SupportsWifiSyncing", 1);
	return d;
}

static plist_t
domains(const struct ld_device_config *c)
{
	plist_t all = plist_new_dict(), d;

	plist_dict_set_item(all, "com.apple.disk_usage", disk_usage());
	plist_dict_set_item(all, "com.apple.disk_usage.factory", disk_usage());

	d = plist_new_dict();
	set_uint(d, "BatteryCurrentCapacity", 87);
	set_bool(d, "BatteryIsCharging", 1);
	set_bool(d, "ExternalChargeCapable", 1);
	set_bool(d, "ExternalConnected", 1);
	set_bool(d, "FullyCharged", 0);
	set_bool(d, "GasGaugeCapability", 1);
	set_bool(d, "HasBattery", 1);
	plist_dict_set_item(all, "com.apple.mobile.battery", d);

	d = plist_new_dict();
	set_bool(d, "WillEncrypt", 0);
	set_bool(d, "CloudBackupEnabled", 0);
	plist_dict_set_item(all, "com.apple.mobile.backup", d);

	d = plist_new_dict();
	set_str(d, "MinITunesVersion", "12.12.4");
	set_str(d, "MinMacOSVersion", "10.15.4");
	plist_dict_set_item(all, "com.apple.mobile.iTunes", d);

	d = plist_new_dict();
	set_str(d, "MinITunesVersion", "12.12.4");
	plist_dict_set_item(all, "com.apple.iTunes", d);

	d = plist_new_dict();
	set_str(d, "Language", "en");
	set_str(d, "Locale", "en_US");
	set_str(d, "Keyboard", "en_US");
	plist_dict_set_item(all, "com.apple.international", d);

	plist_dict_set_item(all, "com.apple.mobile.wireless_lockdown", wireless(c));
	return all;
}

int
ldv_new(const struct ld_device_config *cfg, struct ldv **vp)
{
	struct ldv *v;

	*vp = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return IB_ERR_NOMEM;
	v->dflt = default_domain(cfg);
	v->domains = domains(cfg);
	if (v->dflt == NULL || v->domains == NULL) {
		ldv_free(v);
		return IB_ERR_NOMEM;
	}
	*vp = v;
	return IB_OK;
}

void
ldv_free(struct ldv *v)
{
	if (v == NULL)
		return;
	plist_free(v->dflt);
	plist_free(v->domains);
	free(v);
}

/* The default domain as a host sees it: stored values, dynamic ones on
 * top, reduced to the untrusted subset without a session. */
static plist_t
default_view(struct ldv *v, int trusted, plist_t dynamic)
{
	plist_t out = plist_copy(v->dflt);
	plist_dict_iter it = NULL;
	char *key = NULL;
	plist_t val = NULL;

	if (out == NULL)
		return NULL;
	if (dynamic != NULL) {
		plist_dict_new_iter(dynamic, &it);
		for (;;) {
			plist_dict_next_item(dynamic, it, &key, &val);
			if (val == NULL)
				break;
			plist_dict_set_item(out, key, plist_copy(val));
			free(key);
			key = NULL;
		}
		free(it);
	}
	if (!trusted) {
		plist_t sub = plist_new_dict();
		size_t i;

		for (i = 0; i < IB_ARRAY_LEN(untrusted_keys); i++) {
			plist_t item = plist_dict_get_item(out, untrusted_keys[i]);

			if (item != NULL)
				plist_dict_set_item(sub, untrusted_keys[i], plist_copy(item));
		}
		plist_free(out);
		out = sub;
	}
	return out;
}

int
ldv_get(struct ldv *v, const char *domain, const char *key, int trusted,
    plist_t dynamic, plist_t *valuep)
{
	plist_t src, item;
	int r = IB_OK;

	*valuep = NULL;
	if (domain == NULL) {
		if (key != NULL && !trusted &&
		    !in_list(untrusted_keys, IB_ARRAY_LEN(untrusted_keys), key))
			return IB_ERR_LD_GET_PROHIBITED;
		if ((src = default_view(v, trusted, dynamic)) == NULL)
			return IB_ERR_NOMEM;
		item = key == NULL ? src : plist_dict_get_item(src, key);
		if (item == NULL)
			r = IB_ERR_LD_MISSING_VALUE;
		else if ((*valuep = plist_copy(item)) == NULL)
			r = IB_ERR_NOMEM;
		plist_free(src);
		return r;
	}
	if (!trusted)
		return IB_ERR_LD_GET_PROHIBITED;
	if ((src = plist_dict_get_item(v->domains, domain)) == NULL)
		return IB_ERR_LD_MISSING_VALUE;
	item = key == NULL ? src : plist_dict_get_item(src, key);
	if (item == NULL)
		return IB_ERR_LD_MISSING_VALUE;
	if ((*valuep = plist_copy(item)) == NULL)
		return IB_ERR_NOMEM;
	return IB_OK;
}

/* The dict a (domain, key) lives in, created on demand when create. */
static plist_t
container(struct ldv *v, const char *domain, int create)
{
	plist_t d;

	if (domain == NULL)
		return v->dflt;
	d = plist_dict_get_item(v->domains, domain);
	if (d == NULL && create) {
		d = plist_new_dict();
		plist_dict_set_item(v->domains, domain, d);
	}
	return d;
}

int
ldv_set(struct ldv *v, const char *domain, const char *key, int trusted, plist_t value)
{
	plist_t dict, old;

	if (value == NULL)
		return IB_ERR_LD_MISSING_VALUE;
	if (key == NULL)
		return IB_ERR_LD_MISSING_KEY;
	/* usbmuxd's preflight sets this before pairing (lockdown.md s.3). */
	if (domain == NULL && strcmp(key, "UntrustedHostBUID") == 0)
		return plist_get_node_type(value) == PLIST_STRING ?
		    ldv_force_set(v, NULL, key, value) : IB_ERR_LD_MALFORMED_COMMAND;
	if (!trusted)
		return IB_ERR_LD_SESSION_INACTIVE;
	if (domain == NULL && in_list(immutable_keys, IB_ARRAY_LEN(immutable_keys), key))
		return IB_ERR_LD_IMMUTABLE_VALUE;
	if (!is_settable(domain, key))
		return IB_ERR_LD_SET_PROHIBITED;
	dict = container(v, domain, 0);
	old = dict != NULL ? plist_dict_get_item(dict, key) : NULL;
	if (old != NULL && plist_get_node_type(old) != plist_get_node_type(value))
		return IB_ERR_LD_MALFORMED_COMMAND;
	return ldv_force_set(v, domain, key, value);
}

int
ldv_remove(struct ldv *v, const char *domain, const char *key, int trusted)
{
	plist_t dict;

	if (key == NULL)
		return IB_ERR_LD_MISSING_KEY;
	if (!trusted)
		return IB_ERR_LD_SESSION_INACTIVE;
	if (domain == NULL || !is_settable(domain, key))
		return IB_ERR_LD_REMOVE_PROHIBITED;
	dict = container(v, domain, 0);
	if (dict == NULL || plist_dict_get_item(dict, key) == NULL)
		return IB_ERR_LD_MISSING_VALUE;
	plist_dict_remove_item(dict, key);
	return IB_OK;
}

int
ldv_force_set(struct ldv *v, const char *domain, const char *key, plist_t value)
{
	plist_t dict = container(v, domain, 1), copy;

	if (dict == NULL || key == NULL || value == NULL)
		return IB_ERR_INVALID_ARG;
	if ((copy = plist_copy(value)) == NULL)
		return IB_ERR_NOMEM;
	plist_dict_set_item(dict, key, copy);
	return IB_OK;
}
