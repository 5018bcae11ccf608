/*
 * client_test.c - the host client against the device-side lockdownd over
 * socketpairs: values before and after a session, pairing and sessions,
 * TLS per iOS profile, services (TLS or not, escrow bag on a locked
 * device), stale records (InvalidHostID, refused TLS), unpair, info.
 */
#include "ib_test.h"

#include "ib_plist.h"
#include "ib_util.h"
#include "ld_testnet.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
open_opts(struct tdev *t, const struct ib_lockdown_opts *o, struct ib_lockdown **ldp)
{
	return ld_session_open_env(&t->env, t->udid, o, NULL, NULL, ldp);
}

static struct tdev *
new_dev(const char *ios, void (*tweak)(struct ld_device_config *))
{
	struct ld_device_config cfg;
	struct tdev *t = NULL;

	tdev_config(&cfg, ios, "accept");
	if (tweak != NULL)
		tweak(&cfg);
	if (tdev_new(&cfg, &t) != IB_OK)
		return NULL;
	return t;
}

/* An echo service: answers each plist with {Echo: <Request>, TLS: bool}. */
struct echo_seen {
	pthread_mutex_t mu;
	int calls, tls, escrow_ok;
	char host_id[64];
};
static struct echo_seen echo_seen = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, "" };

static void
echo_service(void *owner, struct ib_conn *c, const struct ld_service_start *st, void *arg)
{
	plist_t m = NULL;

	(void)owner;
	(void)arg;
	pthread_mutex_lock(&echo_seen.mu);
	echo_seen.calls++;
	echo_seen.tls = st->tls;
	echo_seen.escrow_ok = st->escrow_bag_ok;
	snprintf(echo_seen.host_id, sizeof(echo_seen.host_id), "%s",
	    st->host_id != NULL ? st->host_id : "");
	pthread_mutex_unlock(&echo_seen.mu);
	ib_conn_set_timeout(c, 5000);
	while (ib_conn_recv_plist(c, &m) == IB_OK) {
		plist_dict_set_item(m, "TLS", plist_new_bool(ib_conn_tls_active(c)));
		if (ib_conn_send_plist(c, m) != IB_OK)
			break;
		plist_free(m);
		m = NULL;
	}
	plist_free(m);
}

static int
echo_roundtrip(struct ib_conn *c, int *tlsp)
{
	plist_t m = plist_new_dict(), back = NULL;
	int r;

	plist_dict_set_item(m, "Request", plist_new_string("Ping"));
	if ((r = ib_conn_send_plist(c, m)) == IB_OK &&
	    (r = ib_conn_recv_plist(c, &back)) == IB_OK)
		r = ib_plist_dict_get_bool(back, "TLS", tlsp);
	plist_free(m);
	plist_free(back);
	return r;
}

IB_TEST(client_open_reads_version_and_class)
{
	struct tdev *t = new_dev("18.2", NULL);
	struct ib_lockdown *ld = NULL;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_open(t, &ld));
	IB_CHECK_STR(ib_lockdown_product_version(ld), "18.2");
	IB_CHECK_STR(ib_lockdown_device_class(ld), "iPhone");
	IB_CHECK_STR(ib_lockdown_udid(ld), t->udid);
	IB_CHECK(!ib_lockdown_has_session(ld));
	ib_lockdown_close(ld);
	tdev_free(t);
}

IB_TEST(client_values_before_and_after_session)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;
	plist_t v = NULL;
	const uint8_t *pem;
	size_t n;
	uint64_t u;
	int b;
	char *s = NULL;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_open(t, &ld));
	/* untrusted: the basic subset only */
	IB_CHECK_OK(ib_lockdown_get_value(ld, NULL, NULL, &v));
	IB_CHECK(ib_plist_is_dict(v));
	IB_CHECK(plist_dict_get_item(v, "UniqueDeviceID") != NULL);
	IB_CHECK(plist_dict_get_item(v, "SerialNumber") == NULL);
	IB_CHECK_OK(ib_plist_dict_get_data(v, "DevicePublicKey", &pem, &n));
	IB_CHECK(n > 30 && memcmp(pem, "-----BEGIN RSA PUBLIC KEY-----", 30) == 0);
	plist_free(v);
	v = NULL;
	IB_CHECK_OK(ib_lockdown_get_string(ld, NULL, "WiFiAddress", &s));
	IB_CHECK_STR(s, "f0:18:98:aa:bb:cc");
	free(s);
	s = NULL;
	IB_CHECK_ERR(ib_lockdown_get_value(ld, NULL, "SerialNumber", &v),
	    IB_ERR_LD_GET_PROHIBITED);
	IB_CHECK_ERR(ib_lockdown_get_value(ld, "com.apple.mobile.backup", NULL, &v),
	    IB_ERR_LD_GET_PROHIBITED);
	IB_CHECK(v == NULL);
	ib_lockdown_close(ld);
	ld = NULL;

	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(tdev_session(t, &ld));
	IB_CHECK(ib_lockdown_has_session(ld));
	IB_CHECK_OK(ib_lockdown_get_string(ld, NULL, "SerialNumber", &s));
	IB_CHECK(s[0] != '\0');
	free(s);
	IB_CHECK_OK(ib_lockdown_get_value(ld, NULL, "TrustedHostAttached", &v));
	IB_CHECK_OK(ib_plist_get_bool(v, &b));
	IB_CHECK(b);
	plist_free(v);
	IB_CHECK_OK(ib_lockdown_get_value(ld, "com.apple.disk_usage", "TotalDiskCapacity", &v));
	IB_CHECK_OK(ib_plist_get_uint(v, &u));
	IB_CHECK(u == 128000000000ull);
	plist_free(v);
	IB_CHECK_OK(ib_lockdown_get_value(ld, "com.apple.mobile.backup", NULL, &v));
	IB_CHECK_OK(ib_plist_dict_get_bool(v, "WillEncrypt", &b));
	IB_CHECK(!b);
	plist_free(v);
	v = NULL;
	IB_CHECK_ERR(ib_lockdown_get_value(ld, NULL, "NoSuchKey", &v), IB_ERR_LD_MISSING_VALUE);
	IB_CHECK_ERR(ib_lockdown_get_value(ld, "com.apple.nothing", NULL, &v),
	    IB_ERR_LD_MISSING_VALUE);
	ib_lockdown_close(ld);
	tdev_free(t);
}

IB_TEST(client_set_and_remove_values)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;
	plist_t name = plist_new_string("Renamed"), flag = plist_new_bool(1);
	plist_t num = plist_new_uint(5), v = NULL;
	char *s = NULL;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_open(t, &ld));
	/* before pairing only usbmuxd's UntrustedHostBUID */
	IB_CHECK_ERR(ib_lockdown_set_value(ld, NULL, "DeviceName", name),
	    IB_ERR_LD_SESSION_INACTIVE);
	IB_CHECK_OK(ib_lockdown_set_value(ld, NULL, "UntrustedHostBUID", name));
	ib_lockdown_close(ld);
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(tdev_session(t, &ld));
	IB_CHECK_OK(ib_lockdown_set_value(ld, NULL, "DeviceName", name));
	IB_CHECK_OK(ib_lockdown_get_string(ld, NULL, "DeviceName", &s));
	IB_CHECK_STR(s, "Renamed");
	free(s);
	IB_CHECK_ERR(ib_lockdown_set_value(ld, NULL, "DeviceName", num),
	    IB_ERR_LD_MALFORMED_COMMAND);
	IB_CHECK_ERR(ib_lockdown_set_value(ld, NULL, "UniqueDeviceID", name),
	    IB_ERR_LD_IMMUTABLE_VALUE);
	IB_CHECK_ERR(ib_lockdown_set_value(ld, "com.apple.mobile.backup", "WillEncrypt", flag),
	    IB_ERR_LD_SET_PROHIBITED);
	IB_CHECK_OK(ib_lockdown_set_value(ld, "com.apple.mobile.wireless_lockdown",
	    "EnableWifiConnections", flag));
	IB_CHECK_OK(ib_lockdown_remove_value(ld, "com.apple.mobile.wireless_lockdown",
	    "EnableWifiConnections"));
	IB_CHECK_ERR(ib_lockdown_get_value(ld, "com.apple.mobile.wireless_lockdown",
	    "EnableWifiConnections", &v), IB_ERR_LD_MISSING_VALUE);
	IB_CHECK_ERR(ib_lockdown_remove_value(ld, "com.apple.mobile.wireless_lockdown",
	    "EnableWifiConnections"), IB_ERR_LD_MISSING_VALUE);
	IB_CHECK_ERR(ib_lockdown_remove_value(ld, NULL, "DeviceName"),
	    IB_ERR_LD_REMOVE_PROHIBITED);
	plist_free(name);
	plist_free(flag);
	plist_free(num);
	ib_lockdown_close(ld);
	tdev_free(t);
}

IB_TEST(client_pair_saves_a_complete_record)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ld_device_stats st;
	plist_t rec = NULL;
	const uint8_t *bag;
	size_t n;
	const char *s;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_EQ(t->saves, 1);
	IB_CHECK_OK(ib_plist_parse_dict(t->record, t->record_len, t->record_len, &rec));
	IB_CHECK_OK(ib_plist_dict_get_data(rec, "EscrowBag", &bag, &n));
	IB_CHECK_EQ(n, 32);
	IB_CHECK_OK(ib_plist_dict_get_string(rec, "WiFiMACAddress", &s));
	IB_CHECK_STR(s, "f0:18:98:aa:bb:cc");
	IB_CHECK_OK(ib_plist_dict_get_string(rec, "SystemBUID", &s));
	IB_CHECK_STR(s, t->buid);
	IB_CHECK_OK(ib_plist_dict_get_data(rec, "HostPrivateKey", &bag, &n));
	IB_CHECK_OK(ib_plist_dict_get_data(rec, "RootPrivateKey", &bag, &n));
	ld_device_get_stats(t->dev, &st);
	IB_CHECK_EQ(st.pair_requests, 1);
	IB_CHECK_EQ(st.pair_private_keys, 0);     /* never sent */
	IB_CHECK_EQ(ld_device_pairings(t->dev), 1);
	plist_free(rec);
	tdev_free(t);
}

IB_TEST(client_session_stop_and_restart_on_one_connection)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;
	struct ib_pair_record *rec = NULL;
	char *s = NULL;
	struct ld_device_stats st;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(tdev_session(t, &ld));
	IB_CHECK_OK(ib_pair_record_parse(t->record, t->record_len, &rec));
	IB_CHECK_OK(ib_lockdown_stop_session(ld));
	IB_CHECK(!ib_lockdown_has_session(ld));
	/* plaintext again: a basic value still reads */
	IB_CHECK_OK(ib_lockdown_get_string(ld, NULL, "ProductVersion", &s));
	free(s);
	IB_CHECK_ERR(ib_lockdown_stop_session(ld), IB_ERR_LD_SESSION_INACTIVE);
	IB_CHECK_OK(ib_lockdown_start_session(ld, rec));
	IB_CHECK_ERR(ib_lockdown_start_session(ld, rec), IB_ERR_LD_SESSION_ACTIVE);
	IB_CHECK_OK(ib_lockdown_get_string(ld, NULL, "SerialNumber", &s));
	free(s);
	ib_lockdown_close(ld);
	ld_device_get_stats(t->dev, &st);
	IB_CHECK_EQ(st.sessions, 2);
	IB_CHECK_EQ(testnet_dials(t->net, IB_LOCKDOWN_PORT), 2);   /* pair + session */
	ib_pair_record_free(rec);
	tdev_free(t);
}

static void
service_round(const char *ios, int want_tls)
{
	struct tdev *t = new_dev(ios, NULL);
	struct ib_lockdown *ld = NULL;
	struct ib_conn *svc = NULL;
	int tls = -1;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(ld_device_add_service(t->dev, "com.example.echo", echo_service, NULL, NULL, 0));
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(tdev_session(t, &ld));
	IB_CHECK_OK(ib_lockdown_start_service(ld, "com.example.echo", 0, &svc));
	IB_CHECK_EQ(ib_conn_tls_active(svc), want_tls);
	IB_CHECK_OK(echo_roundtrip(svc, &tls));
	IB_CHECK_EQ(tls, want_tls);
	ib_conn_free(svc);
	svc = NULL;
	IB_CHECK_ERR(ib_lockdown_start_service(ld, "com.apple.nothing", 0, &svc),
	    IB_ERR_LD_INVALID_SERVICE);
	IB_CHECK(svc == NULL);
	ib_lockdown_close(ld);
	tdev_free(t);
	pthread_mutex_lock(&echo_seen.mu);
	IB_CHECK_EQ(echo_seen.tls, want_tls);
	pthread_mutex_unlock(&echo_seen.mu);
}

IB_TEST(client_service_tls_from_ios13)
{
	service_round("17.5", 1);
	service_round("18.2", 1);
}

IB_TEST(client_service_plain_before_ios13)
{
	/* EnableServiceSSL absent on iOS 12 (LIMD#694) */
	service_round("12.5", 0);
}

static void
make_locked(struct ld_device_config *c)
{
	c->locked = 1;
}

IB_TEST(client_locked_device_needs_escrow_bag)
{
	struct tdev *t = new_dev("17.5", make_locked);
	struct ib_lockdown *ld = NULL;
	struct ib_conn *svc = NULL;
	int tls;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(ld_device_add_service(t->dev, "com.example.echo", echo_service, NULL, NULL, 0));
	IB_CHECK_OK(ld_device_control(t->dev, "unlock"));
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(ld_device_control(t->dev, "lock"));
	IB_CHECK_OK(tdev_session(t, &ld));
	IB_CHECK_ERR(ib_lockdown_start_service(ld, "com.example.echo", 0, &svc),
	    IB_ERR_LD_PASSWORD_PROTECTED);
	IB_CHECK_OK(ib_lockdown_start_service(ld, "com.example.echo", 1, &svc));
	IB_CHECK_OK(echo_roundtrip(svc, &tls));
	pthread_mutex_lock(&echo_seen.mu);
	IB_CHECK(echo_seen.escrow_ok);
	pthread_mutex_unlock(&echo_seen.mu);
	ib_conn_free(svc);
	ib_lockdown_close(ld);
	tdev_free(t);
}

IB_TEST(client_service_needs_session)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;
	struct ib_conn *svc = NULL;
	int tls = 1;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(ld_device_add_service(t->dev, "com.example.echo", echo_service, NULL, NULL, 0));
	IB_CHECK_OK(ld_device_add_service(t->dev, "com.example.insecure", echo_service, NULL,
	    NULL, LD_SERVICE_NO_SESSION));
	IB_CHECK_OK(tdev_open(t, &ld));
	IB_CHECK_ERR(ib_lockdown_start_service(ld, "com.example.echo", 0, &svc),
	    IB_ERR_LD_SESSION_INACTIVE);
	/* insecure_notification_proxy style: works unpaired, no TLS */
	IB_CHECK_OK(ib_lockdown_start_service(ld, "com.example.insecure", 0, &svc));
	IB_CHECK_OK(echo_roundtrip(svc, &tls));
	IB_CHECK_EQ(tls, 0);
	ib_conn_free(svc);
	ib_lockdown_close(ld);
	tdev_free(t);
}

IB_TEST(client_ios6_validates_and_uses_tls10)
{
	struct tdev *t = new_dev("6.1", NULL);
	struct ib_lockdown *ld = NULL;
	struct ib_pair_record *rec = NULL;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(tdev_session(t, &ld));
	IB_CHECK_EQ(ib_conn_tls_version(ld->conn), IB_TLS_1_0);
	ib_lockdown_close(ld);
	ld = NULL;
	/* without ValidatePair an iOS 6 device refuses the session */
	IB_CHECK_OK(ib_pair_record_parse(t->record, t->record_len, &rec));
	IB_CHECK_OK(tdev_open(t, &ld));
	IB_CHECK_ERR(ib_lockdown_start_session(ld, rec), IB_ERR_LD_INVALID_HOST_ID);
	IB_CHECK_OK(ib_lockdown_validate_pair(ld, rec));
	IB_CHECK_OK(ib_lockdown_start_session(ld, rec));
	ib_lockdown_close(ld);
	ib_pair_record_free(rec);
	tdev_free(t);
}

IB_TEST(client_modern_tls_for_ios17)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(tdev_session(t, &ld));
	IB_CHECK(ib_conn_tls_version(ld->conn) >= IB_TLS_1_2);
	ib_lockdown_close(ld);
	tdev_free(t);
}

IB_TEST(client_root_certificate_option)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;
	struct ib_lockdown_opts o = { 0 };
	struct ld_device_stats st;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_pair(t));
	o.tls_root_cert = 1;
	IB_CHECK_OK(open_opts(t, &o, &ld));
	ib_lockdown_close(ld);
	IB_CHECK_OK(tdev_session(t, &ld));
	ib_lockdown_close(ld);
	ld_device_get_stats(t->dev, &st);
	IB_CHECK_EQ(st.client_root_cert, 1);
	IB_CHECK_EQ(st.client_host_cert, 1);
	tdev_free(t);
}

IB_TEST(client_reset_privacy_gives_invalid_host_id)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(ld_device_control(t->dev, "reset-privacy"));
	IB_CHECK_EQ(ld_device_pairings(t->dev), 0);
	IB_CHECK_ERR(tdev_session(t, &ld), IB_ERR_LD_INVALID_HOST_ID);
	IB_CHECK(ld == NULL);
	IB_CHECK(t->record != NULL);      /* the record is left alone */
	tdev_free(t);
}

static void
forget_tls(struct ld_device_config *c)
{
	c->forget = LD_FORGET_TLS;
}

IB_TEST(client_reset_privacy_tls_mode_refuses_handshake)
{
	struct tdev *t = new_dev("17.5", forget_tls);
	struct tdev *t6 = new_dev("6.1", forget_tls);
	struct ib_lockdown *ld = NULL;

	IB_CHECK(t != NULL && t6 != NULL);
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(ld_device_control(t->dev, "reset-privacy"));
	IB_CHECK_ERR(tdev_session(t, &ld), IB_ERR_TLS_HANDSHAKE);   /* TLS 1.3 */
	IB_CHECK_OK(tdev_pair(t6));
	IB_CHECK_OK(ld_device_control(t6->dev, "reset-privacy"));
	IB_CHECK_ERR(tdev_session(t6, &ld), IB_ERR_TLS_HANDSHAKE);  /* TLS 1.0 */
	tdev_free(t);
	tdev_free(t6);
}

IB_TEST(client_tampered_record_refused)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;
	plist_t rec = NULL, other = NULL;
	uint8_t *fx = NULL, *out = NULL;
	size_t fn, on;
	char path[1024];
	static const char *const keys[] = {
		"HostCertificate", "HostPrivateKey", "RootCertificate", "RootPrivateKey",
	};
	size_t i;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_pair(t));
	/* same HostID, certificates from another pairing */
	snprintf(path, sizeof(path), "%s/tests/lockdown/fixtures/limd_format.plist",
	    getenv("IB_SOURCE_ROOT"));
	IB_CHECK_OK(ib_file_read(path, 1 << 20, &fx, &fn));
	IB_CHECK_OK(ib_plist_parse_dict(fx, fn, fn, &other));
	IB_CHECK_OK(ib_plist_parse_dict(t->record, t->record_len, t->record_len, &rec));
	for (i = 0; i < 4; i++)
		plist_dict_set_item(rec, keys[i], plist_copy(plist_dict_get_item(other, keys[i])));
	IB_CHECK_OK(ib_plist_to_xml(rec, (char **)&out, &on));
	free(t->record);
	t->record = out;
	t->record_len = on;
	IB_CHECK_ERR(tdev_session(t, &ld), IB_ERR_TLS_HANDSHAKE);
	plist_free(rec);
	plist_free(other);
	free(fx);
	tdev_free(t);
}

IB_TEST(client_unpair_forgets_both_sides)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(tdev_open(t, &ld));
	IB_CHECK_OK(ib_lockdown_unpair_host(ld));
	ib_lockdown_close(ld);
	ld = NULL;
	IB_CHECK_EQ(ld_device_pairings(t->dev), 0);
	IB_CHECK(t->record == NULL);
	IB_CHECK_ERR(tdev_session(t, &ld), IB_ERR_LD_NOT_PAIRED);
	IB_CHECK_OK(tdev_open(t, &ld));
	IB_CHECK_ERR(ib_lockdown_unpair_host(ld), IB_ERR_LD_NOT_PAIRED);
	ib_lockdown_close(ld);
	tdev_free(t);
}

IB_TEST(client_session_pairs_on_first_use)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown *ld = NULL;
	struct ib_lockdown_opts o = { 0 };

	IB_CHECK(t != NULL);
	IB_CHECK_ERR(tdev_session(t, &ld), IB_ERR_LD_NOT_PAIRED);
	o.pair_timeout_ms = 5000;       /* pairing on first use is the default */
	IB_CHECK_OK(open_opts(t, &o, &ld));
	IB_CHECK(ib_lockdown_has_session(ld));
	IB_CHECK_EQ(t->saves, 1);
	ib_lockdown_close(ld);
	tdev_free(t);
}

IB_TEST(client_info_summary)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct ib_lockdown_info info;
	plist_t yes = plist_new_bool(1);

	IB_CHECK(t != NULL);
	IB_CHECK_OK(ld_query_info_env(&t->env, t->udid, NULL, &info));
	IB_CHECK_EQ(info.paired, 0);
	IB_CHECK_STR(info.name, "Test iPhone");
	IB_CHECK_STR(info.product_version, "17.5");
	IB_CHECK_STR(info.build_version, "21F79");
	IB_CHECK_STR(info.product_type, "iPhone14,5");
	IB_CHECK_EQ(info.total_capacity, -1);
	IB_CHECK_EQ(info.backup_encrypted, -1);
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(ld_query_info_env(&t->env, t->udid, NULL, &info));
	IB_CHECK_EQ(info.paired, 1);
	IB_CHECK(info.total_capacity == 128000000000ll);
	IB_CHECK(info.free_space > 0 && info.free_space < info.total_capacity);
	IB_CHECK_EQ(info.battery_percent, 87);
	IB_CHECK_EQ(info.battery_charging, 1);
	IB_CHECK_EQ(info.backup_encrypted, 0);
	IB_CHECK(info.serial_number[0] != '\0');
	/* another device layer turns backup encryption on */
	IB_CHECK_OK(ld_device_set_value(t->dev, "com.apple.mobile.backup", "WillEncrypt", yes));
	IB_CHECK_OK(ld_query_info_env(&t->env, t->udid, NULL, &info));
	IB_CHECK_EQ(info.backup_encrypted, 1);
	plist_free(yes);
	tdev_free(t);
}

static void
idle_1s(struct ld_device_config *c)
{
	c->idle_timeout_s = 1;
}

IB_TEST(client_idle_connection_dropped)
{
	struct tdev *t = new_dev("17.5", idle_1s);
	struct ib_lockdown *ld = NULL;
	char *s = NULL;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(tdev_open(t, &ld));
	IB_CHECK_OK(ib_lockdown_get_string(ld, NULL, "ProductVersion", &s));
	free(s);
	usleep(1500 * 1000);
	IB_CHECK_ERR(ib_lockdown_get_string(ld, NULL, "ProductVersion", &s), IB_ERR_EOF);
	ib_lockdown_free(ld);
	tdev_free(t);
}

/* A device in restore mode answers QueryType differently. */
static void
restored(void *arg, int fd)
{
	struct ib_conn *c = NULL;
	plist_t m = NULL, r = plist_new_dict();

	(void)arg;
	ib_conn_new_fd(fd, IB_CONN_ROLE_DEVICE, 0, &c);
	if (ib_conn_recv_plist(c, &m) == IB_OK) {
		plist_dict_set_item(r, "Request", plist_new_string("QueryType"));
		plist_dict_set_item(r, "Type", plist_new_string("com.apple.mobile.restored"));
		ib_conn_send_plist(c, r);
	}
	plist_free(m);
	plist_free(r);
	ib_conn_free(c);
}

IB_TEST(client_restore_mode_refused)
{
	struct tdev *t = new_dev("17.5", NULL);
	struct testnet *real;
	struct ib_lockdown *ld = NULL;

	IB_CHECK(t != NULL);
	real = t->net;
	IB_CHECK_OK(testnet_new(&t->net));
	IB_CHECK_OK(testnet_listen(t->net, IB_LOCKDOWN_PORT, restored, NULL, 0));
	IB_CHECK_ERR(tdev_open(t, &ld), IB_ERR_LD_WRONG_TYPE);
	testnet_free(t->net);
	t->net = real;
	tdev_free(t);
}

int
main(int argc, char **argv)
{
	tdev_fast_keys();
	return ib_test_main(argc, argv);
}
