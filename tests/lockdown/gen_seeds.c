/*
 * gen_seeds.c - record fuzz seeds from real exchanges between the host
 * client and the virtual lockdownd (not run by the test suite):
 *
 *   gen_lockdown_seeds SOURCE_ROOT
 *
 * writes fuzz/corpus/lockdown_msg/<name> (a control byte, then the bytes
 * the device sent on port 62078, recorded by a proxy between host and
 * device) and fuzz/corpus/pair_record/<name> (records this code writes,
 * plus the fixtures made with the openssl CLI).
 */
#include "ib_err.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "ld_msg.h"
#include "ld_testnet.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *root;

/* --- a recording proxy between the host end and the device ---------------- */

struct tap {
	struct tdev *t;
	pthread_mutex_t mu;
	uint8_t *rec;           /* device -> host bytes of the first connection */
	size_t len;
	int taps;
	pthread_t th[8];
	int nth;
};

struct pipe_pair {
	struct tap *tap;
	int host, dev;
	int record;
};

static void *
proxy(void *arg)
{
	struct pipe_pair *pp = arg;
	uint8_t buf[16384];

	for (;;) {
		struct pollfd p[2] = { { pp->host, POLLIN, 0 }, { pp->dev, POLLIN, 0 } };
		ssize_t k;

		if (poll(p, 2, 10000) <= 0)
			break;
		if (p[0].revents) {
			if ((k = read(pp->host, buf, sizeof(buf))) <= 0 ||
			    write(pp->dev, buf, (size_t)k) != k)
				break;
		}
		if (p[1].revents) {
			if ((k = read(pp->dev, buf, sizeof(buf))) <= 0)
				break;
			if (pp->record) {
				pthread_mutex_lock(&pp->tap->mu);
				pp->tap->rec = realloc(pp->tap->rec, pp->tap->len + (size_t)k);
				memcpy(pp->tap->rec + pp->tap->len, buf, (size_t)k);
				pp->tap->len += (size_t)k;
				pthread_mutex_unlock(&pp->tap->mu);
			}
			if (write(pp->host, buf, (size_t)k) != k)
				break;
		}
	}
	close(pp->host);
	close(pp->dev);
	free(pp);
	return NULL;
}

static int
tap_dial(void *ctx, const char *udid, uint16_t port, struct ib_conn **cp)
{
	struct tap *tap = ctx;
	struct pipe_pair *pp;
	int sv[2], dfd, r;

	(void)udid;
	*cp = NULL;
	if ((r = testnet_dial(tap->t->net, port, &dfd)) != IB_OK)
		return r;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || tap->nth == 8)
		return IB_ERR_SYSTEM;
	pp = calloc(1, sizeof(*pp));
	pp->tap = tap;
	pp->host = sv[1];
	pp->dev = dfd;
	pp->record = port == IB_LOCKDOWN_PORT && tap->taps++ == 0;
	pthread_create(&tap->th[tap->nth++], NULL, proxy, pp);
	return ib_conn_new_fd(sv[0], IB_CONN_ROLE_HOST, 1, cp);
}

static void
tap_init(struct tap *tap, struct tdev *t, struct ld_env *env)
{
	memset(tap, 0, sizeof(*tap));
	tap->t = t;
	pthread_mutex_init(&tap->mu, NULL);
	*env = t->env;
	env->dial = tap_dial;
	env->ctx = tap;
}

/* The env callbacks other than dial take the tdev as ctx. */
static int rd(void *c, const char *u, uint8_t **d, size_t *l) { return ((struct tap *)c)->t->env.read_record(((struct tap *)c)->t, u, d, l); }
static int sv_(void *c, const char *u, const uint8_t *d, size_t l) { return ((struct tap *)c)->t->env.save_record(((struct tap *)c)->t, u, d, l); }
static int dl(void *c, const char *u) { return ((struct tap *)c)->t->env.delete_record(((struct tap *)c)->t, u); }
static int bu(void *c, char **b) { return ((struct tap *)c)->t->env.read_buid(((struct tap *)c)->t, b); }

static void
tap_env(struct tap *tap, struct tdev *t, struct ld_env *env)
{
	tap_init(tap, t, env);
	env->read_record = rd;
	env->save_record = sv_;
	env->delete_record = dl;
	env->read_buid = bu;
}

static void
tap_finish(struct tap *tap, const char *name, uint8_t ctl)
{
	char path[1024];
	FILE *f;
	int i;

	for (i = 0; i < tap->nth; i++)
		pthread_join(tap->th[i], NULL);
	snprintf(path, sizeof(path), "%s/fuzz/corpus/lockdown_msg/%s", root, name);
	if ((f = fopen(path, "wb")) != NULL) {
		fwrite(&ctl, 1, 1, f);
		fwrite(tap->rec, 1, tap->len, f);
		fclose(f);
		printf("%s: %zu bytes\n", path, tap->len + 1);
	}
	free(tap->rec);
}

/* --- conversations ----------------------------------------------------------- */

/* The fuzz harness's sequence. */
static void
conversation(struct ld_env *env, const char *udid)
{
	struct ib_lockdown *ld = NULL;
	struct ib_conn *svc = NULL;
	plist_t v = NULL, name = plist_new_string("fuzz");

	if (ld_open_env(env, udid, NULL, &ld) != IB_OK)
		goto out;
	(void)ib_lockdown_get_value(ld, NULL, NULL, &v);
	plist_free(v);
	v = NULL;
	(void)ib_lockdown_get_value(ld, "com.apple.disk_usage", NULL, &v);
	plist_free(v);
	(void)ib_lockdown_set_value(ld, NULL, "DeviceName", name);
	(void)ib_lockdown_remove_value(ld, "com.apple.mobile.wireless_lockdown",
	    "EnableWifiConnections");
	if (ib_lockdown_start_service(ld, "com.apple.afc", 0, &svc) == IB_OK)
		ib_conn_free(svc);
	(void)ib_lockdown_goodbye(ld);
out:
	plist_free(name);
	ib_lockdown_free(ld);
}

static void
record_conversation(const char *ios, const char *trust, int locked, const char *name,
    uint8_t ctl)
{
	struct ld_device_config cfg;
	struct tdev *t = NULL;
	struct tap tap;
	struct ld_env env;

	tdev_config(&cfg, ios, trust);
	cfg.locked = locked;
	if (tdev_new(&cfg, &t) != IB_OK)
		return;
	tap_env(&tap, t, &env);
	conversation(&env, t->udid);
	tap_finish(&tap, name, ctl);
	tdev_free(t);
}

static void
record_pairing(const char *trust, int locked, const char *name, uint8_t ctl)
{
	struct ld_device_config cfg;
	struct tdev *t = NULL;
	struct ib_lockdown *ld = NULL;
	struct tap tap;
	struct ld_env env;

	tdev_config(&cfg, "17.5", trust);
	cfg.locked = locked;
	if (tdev_new(&cfg, &t) != IB_OK)
		return;
	tap_env(&tap, t, &env);
	if (ld_open_env(&env, t->udid, NULL, &ld) == IB_OK) {
		ld->retry_ms = 50;
		(void)ib_lockdown_pair_interactive(ld, locked ? 300 : 5000, NULL, NULL);
		/* StartSession's plaintext reply, then the TLS handshake */
		if (ld->rec != NULL)
			(void)ib_lockdown_start_session(ld, ld->rec);
	}
	ib_lockdown_free(ld);
	tap_finish(&tap, name, ctl);
	if (strcmp(name, "pair_then_session") == 0 && t->record != NULL) {
		char path[1024];
		uint8_t *bin = NULL;
		size_t bn;
		plist_t d = NULL;

		snprintf(path, sizeof(path), "%s/fuzz/corpus/pair_record/ibackup_written.plist", root);
		ib_file_write_atomic(path, t->record, t->record_len, 0644);
		if (ib_plist_parse(t->record, t->record_len, t->record_len, &d) == IB_OK &&
		    ib_plist_to_bin(d, &bin, &bn) == IB_OK) {
			snprintf(path, sizeof(path), "%s/fuzz/corpus/pair_record/ibackup_written.bplist", root);
			ib_file_write_atomic(path, bin, bn, 0644);
		}
		free(bin);
		plist_free(d);
	}
	tdev_free(t);
}

/* Re-encode every message of a recorded conversation as binary plists. */
static void
binary_variant(const char *from, const char *to)
{
	char path[1024];
	uint8_t *data = NULL, *out = NULL;
	size_t n, on = 1, off = 1;
	struct ld_msg_dec *d = NULL;

	snprintf(path, sizeof(path), "%s/fuzz/corpus/lockdown_msg/%s", root, from);
	if (ib_file_read(path, 1 << 20, &data, &n) != IB_OK || ld_msg_dec_new(0, &d) != IB_OK)
		return;
	out = malloc(1);
	out[0] = 0x11;
	while (off < n) {
		size_t used;
		plist_t m = NULL;
		uint8_t *f;
		size_t fn;

		if (ld_msg_dec_feed(d, data + off, n - off, &used, &m) != IB_OK)
			break;
		off += used;
		if (m != NULL && ld_msg_encode(m, LD_MSG_BINARY, &f, &fn) == IB_OK) {
			out = realloc(out, on + fn);
			memcpy(out + on, f, fn);
			on += fn;
			free(f);
		}
		plist_free(m);
	}
	snprintf(path, sizeof(path), "%s/fuzz/corpus/lockdown_msg/%s", root, to);
	ib_file_write_atomic(path, out, on, 0644);
	printf("%s: %zu bytes\n", path, on);
	ld_msg_dec_free(d);
	free(out);
	free(data);
}

static void
copy_fixture(const char *name)
{
	char path[1024];
	uint8_t *data = NULL;
	size_t n;

	snprintf(path, sizeof(path), "%s/tests/lockdown/fixtures/%s", root, name);
	if (ib_file_read(path, 1 << 20, &data, &n) != IB_OK)
		return;
	snprintf(path, sizeof(path), "%s/fuzz/corpus/pair_record/%s", root, name);
	ib_file_write_atomic(path, data, n, 0644);
	free(data);
}

int
main(int argc, char **argv)
{
	char path[1024];

	if (argc != 2) {
		fprintf(stderr, "usage: %s SOURCE_ROOT\n", argv[0]);
		return 2;
	}
	root = argv[1];
	snprintf(path, sizeof(path), "%s/fuzz/corpus/lockdown_msg", root);
	ib_mkdir_p(path, 0755);
	snprintf(path, sizeof(path), "%s/fuzz/corpus/pair_record", root);
	ib_mkdir_p(path, 0755);
	tdev_fast_keys();
	record_conversation("17.5", "accept", 0, "unpaired_ios17", 0x00);
	record_conversation("6.1", "accept", 0, "unpaired_ios6", 0x07);
	record_conversation("12.5", "accept", 1, "unpaired_locked_ios12", 0x21);
	record_pairing("pending:2", 0, "pair_then_session", 0x03);
	record_pairing("deny", 0, "pair_denied", 0x3f);
	record_pairing("accept", 1, "pair_locked", 0x15);
	binary_variant("unpaired_ios17", "unpaired_ios17_binary");
	copy_fixture("limd_format.plist");
	copy_fixture("sha1_pkcs1.plist");
	return 0;
}
