/*
 * pairing_test.c - the interactive pairing loop against every Trust
 * scenario of the virtual device: what the user is told, what comes back,
 * how often Pair is sent, and that a denied, timed-out or interrupted
 * pairing leaves no record. Also: nothing secret reaches the log at TRACE.
 */
#include "ib_test.h"

#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "ld_testnet.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EVENTS 16

struct heard {
	enum ib_lockdown_event ev[MAX_EVENTS];
	char text[MAX_EVENTS][160];
	int n;
};

static void
on_message(void *ctx, enum ib_lockdown_event ev, const char *text)
{
	struct heard *h = ctx;

	if (h->n < MAX_EVENTS) {
		h->ev[h->n] = ev;
		snprintf(h->text[h->n], sizeof(h->text[0]), "%s", text);
		h->n++;
	}
}

static int
count(const struct heard *h, enum ib_lockdown_event ev)
{
	int i, n = 0;

	for (i = 0; i < h->n; i++)
		n += h->ev[i] == ev;
	return n;
}

static struct tdev *
dev_with(const char *trust, int locked, int reset)
{
	struct ld_device_config cfg;
	struct tdev *t = NULL;

	tdev_config(&cfg, "17.5", trust);
	cfg.locked = locked;
	cfg.trust_reset = reset;
	return tdev_new(&cfg, &t) == IB_OK ? t : NULL;
}

/* Run the loop; return its result, fill h and the elapsed time. */
static int
pair(struct tdev *t, int timeout_ms, struct heard *h, uint64_t *msp)
{
	struct ib_lockdown *ld = NULL;
	uint64_t t0;
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = tdev_open(t, &ld)) != IB_OK)
		return r;
	t0 = ib_now_ms();
	r = ib_lockdown_pair_interactive(ld, timeout_ms, on_message, h);
	if (msp != NULL)
		*msp = ib_now_ms() - t0;
	ib_lockdown_close(ld);
	return r;
}

static unsigned
pair_requests(struct tdev *t)
{
	struct ld_device_stats st;

	ld_device_get_stats(t->dev, &st);
	return st.pair_requests;
}

IB_TEST(pairing_accept)
{
	struct tdev *t = dev_with("accept", 0, 0);
	struct heard h;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(pair(t, 5000, &h, NULL));
	IB_CHECK_EQ(h.n, 1);
	IB_CHECK_EQ(h.ev[0], IB_LD_EVENT_PAIRED);
	IB_CHECK_EQ(t->saves, 1);
	IB_CHECK_EQ(pair_requests(t), 1);
	tdev_free(t);
}

IB_TEST(pairing_pending_attempts)
{
	struct tdev *t = dev_with("pending:3", 0, 0);
	struct heard h;
	uint64_t ms;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(pair(t, 20000, &h, &ms));
	IB_CHECK_EQ(h.n, 2);
	IB_CHECK_EQ(h.ev[0], IB_LD_EVENT_TRUST_PROMPT);
	IB_CHECK_STR(h.text[0], "Unlock the iPhone, tap Trust, and enter its passcode");
	IB_CHECK_EQ(h.ev[1], IB_LD_EVENT_PAIRED);
	/* the same Pair resent about once a second */
	IB_CHECK_EQ(pair_requests(t), 4);
	IB_CHECK(ms >= 2800);
	IB_CHECK_EQ(t->saves, 1);
	tdev_free(t);
}

IB_TEST(pairing_pending_seconds)
{
	struct tdev *t = dev_with("pending_s:2", 0, 0);
	struct heard h;
	uint64_t ms;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(pair(t, 20000, &h, &ms));
	IB_CHECK_EQ(count(&h, IB_LD_EVENT_TRUST_PROMPT), 1);
	IB_CHECK_EQ(count(&h, IB_LD_EVENT_PAIRED), 1);
	IB_CHECK(ms >= 1900);
	IB_CHECK(pair_requests(t) >= 3 && pair_requests(t) <= 5);
	IB_CHECK_EQ(t->saves, 1);
	tdev_free(t);
}

IB_TEST(pairing_denied_leaves_no_record)
{
	struct tdev *t = dev_with("deny", 0, 0);
	struct heard h;

	IB_CHECK(t != NULL);
	IB_CHECK_ERR(pair(t, 20000, &h, NULL), IB_ERR_LD_USER_DENIED_PAIRING);
	IB_CHECK_EQ(count(&h, IB_LD_EVENT_TRUST_PROMPT), 1);
	IB_CHECK_EQ(count(&h, IB_LD_EVENT_PAIRED), 0);
	IB_CHECK_EQ(t->saves, 0);
	IB_CHECK(t->record == NULL);
	IB_CHECK_EQ(ld_device_pairings(t->dev), 0);
	tdev_free(t);
}

/* Do something ms after the device received its first Pair (key
 * generation before it takes a variable time). */
struct later {
	struct tdev *t;
	const char *action;     /* control action, */
	const char *touch;      /* or create this file, or interrupt */
	unsigned ms;
};

static void *
act_later(void *arg)
{
	struct later *l = arg;
	struct ld_device_stats st;

	do {
		usleep(10 * 1000);
		ld_device_get_stats(l->t->dev, &st);
	} while (st.pair_requests == 0);
	usleep(l->ms * 1000);
	if (l->touch != NULL) {
		FILE *f = fopen(l->touch, "w");

		if (f != NULL)
			fclose(f);
	} else if (l->action != NULL) {
		ld_device_control(l->t->dev, l->action);
	} else {
		ib_interrupt_set();
	}
	return NULL;
}

/* Pair while something happens ms after the first Pair: a control
 * action, a file appearing (touch), or an interrupt (both NULL). */
static int
pair_while(struct tdev *t, const char *action, const char *touch, unsigned ms,
    int timeout_ms, struct heard *h, uint64_t *msp)
{
	struct later l = { t, action, touch, ms };
	pthread_t th;
	int r;

	if (pthread_create(&th, NULL, act_later, &l) != 0)
		return IB_ERR_SYSTEM;
	r = pair(t, timeout_ms, h, msp);
	pthread_join(th, NULL);
	return r;
}

IB_TEST(pairing_locked_then_unlocked)
{
	struct tdev *t = dev_with("accept", 1, 0);
	struct heard h;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(pair_while(t, "unlock", NULL, 2200, 20000, &h, NULL));
	IB_CHECK_EQ(h.n, 2);
	IB_CHECK_EQ(h.ev[0], IB_LD_EVENT_LOCKED);
	IB_CHECK_STR(h.text[0], "The iPhone is locked: unlock it to continue pairing");
	IB_CHECK_EQ(h.ev[1], IB_LD_EVENT_PAIRED);
	/* not hammered: about one Pair a second while locked */
	IB_CHECK(pair_requests(t) >= 3 && pair_requests(t) <= 5);
	tdev_free(t);
}

IB_TEST(pairing_unlock_file)
{
	struct ld_device_config cfg;
	struct tdev *t = NULL;
	struct heard h;
	char path[] = "/tmp/ib-unlock-XXXXXX";
	int fd = mkstemp(path);

	IB_CHECK(fd >= 0);
	close(fd);
	unlink(path);
	tdev_config(&cfg, "17.5", "accept");
	cfg.locked = 1;
	cfg.unlock_file = path;
	IB_CHECK_OK(tdev_new(&cfg, &t));
	IB_CHECK_OK(pair_while(t, NULL, path, 1200, 20000, &h, NULL));
	IB_CHECK_EQ(count(&h, IB_LD_EVENT_LOCKED), 1);
	IB_CHECK_EQ(count(&h, IB_LD_EVENT_PAIRED), 1);
	IB_CHECK(!ld_device_is_locked(t->dev));
	unlink(path);
	tdev_free(t);
}

IB_TEST(pairing_locked_then_dialog)
{
	/* unlock, then the dialog shows: both messages, each once */
	struct tdev *t = dev_with("pending:2", 1, 0);
	struct heard h;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(pair_while(t, "unlock", NULL, 1200, 20000, &h, NULL));
	IB_CHECK_EQ(h.n, 3);
	IB_CHECK_EQ(h.ev[0], IB_LD_EVENT_LOCKED);
	IB_CHECK_EQ(h.ev[1], IB_LD_EVENT_TRUST_PROMPT);
	IB_CHECK_EQ(h.ev[2], IB_LD_EVENT_PAIRED);
	tdev_free(t);
}

IB_TEST(pairing_manual_trust)
{
	struct tdev *t = dev_with("manual", 0, 0);
	struct heard h;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(pair_while(t, "trust", NULL, 1500, 20000, &h, NULL));
	IB_CHECK_EQ(count(&h, IB_LD_EVENT_TRUST_PROMPT), 1);
	IB_CHECK_EQ(count(&h, IB_LD_EVENT_PAIRED), 1);
	IB_CHECK_EQ(t->saves, 1);
	tdev_free(t);
}

IB_TEST(pairing_manual_deny)
{
	struct tdev *t = dev_with("manual", 0, 0);
	struct heard h;

	IB_CHECK(t != NULL);
	IB_CHECK_ERR(pair_while(t, "deny", NULL, 1200, 20000, &h, NULL),
	    IB_ERR_LD_USER_DENIED_PAIRING);
	IB_CHECK_EQ(t->saves, 0);
	tdev_free(t);
}

IB_TEST(pairing_timeout_leaves_no_record)
{
	struct tdev *t = dev_with("manual", 0, 0);
	struct heard h;
	uint64_t ms;

	IB_CHECK(t != NULL);
	IB_CHECK_ERR(pair(t, 1500, &h, &ms), IB_ERR_TIMEOUT);
	IB_CHECK(ms >= 1400 && ms < 4000);
	IB_CHECK_EQ(count(&h, IB_LD_EVENT_TRUST_PROMPT), 1);
	IB_CHECK_EQ(t->saves, 0);
	IB_CHECK(t->record == NULL);
	IB_CHECK(pair_requests(t) <= 3);
	tdev_free(t);
}

IB_TEST(pairing_interrupted)
{
	struct tdev *t = dev_with("manual", 0, 0);
	struct heard h;
	uint64_t ms;

	IB_CHECK(t != NULL);
	IB_CHECK_ERR(pair_while(t, NULL, NULL, 700, -1, &h, &ms), IB_ERR_INTERRUPTED);
	ib_interrupt_clear();
	IB_CHECK(ms < 15000);   /* key generation included */
	IB_CHECK_EQ(t->saves, 0);
	tdev_free(t);
}

IB_TEST(pairing_reconnects_after_reset)
{
	/* iOS 7+: the device drops the connection after Trust */
	struct tdev *t = dev_with("pending:1", 0, 1);
	struct heard h;

	IB_CHECK(t != NULL);
	IB_CHECK_OK(pair(t, 20000, &h, NULL));
	IB_CHECK_EQ(h.n, 3);
	IB_CHECK_EQ(h.ev[0], IB_LD_EVENT_TRUST_PROMPT);
	IB_CHECK_EQ(h.ev[1], IB_LD_EVENT_RECONNECT);
	IB_CHECK_EQ(h.ev[2], IB_LD_EVENT_PAIRED);
	IB_CHECK_EQ(testnet_dials(t->net, IB_LOCKDOWN_PORT), 2);
	IB_CHECK_EQ(t->saves, 1);
	IB_CHECK_EQ(ld_device_pairings(t->dev), 1);
	tdev_free(t);
}

/* --- no secrets in the log ------------------------------------------------ */

static void
b64(const uint8_t *p, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

IB_TEST(pairing_no_secrets_in_trace_log)
{
	struct tlog cap;
	struct tdev *t = dev_with("pending:1", 0, 0);
	struct ib_lockdown *ld = NULL;
	struct ib_pair_record *rec = NULL;
	struct ib_conn *svc = NULL;
	const uint8_t *bag;
	size_t n;
	char hex[65], b64bag[48];

	IB_CHECK(t != NULL);
	tlog_start(&cap);
	/* pair, session, a service started with the escrow bag */
	IB_CHECK_OK(tdev_pair(t));
	IB_CHECK_OK(tdev_session(t, &ld));
	(void)ib_lockdown_start_service(ld, "com.apple.nothing", 1, &svc);
	ib_lockdown_close(ld);
	tlog_stop(&cap);

	IB_CHECK(cap.text != NULL);
	/* the log did see the traffic ... */
	IB_CHECK(strstr(cap.text, "StartSession") != NULL);
	IB_CHECK(strstr(cap.text, "<key>EscrowBag</key>") != NULL);
	IB_CHECK(strstr(cap.text, "<key>PairRecord</key>") != NULL);
	/* ... but no private key, in clear or in base64 */
	IB_CHECK(strstr(cap.text, "PRIVATE KEY") == NULL);
	IB_CHECK(strstr(cap.text, "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t") == NULL);
	IB_CHECK(strstr(cap.text, "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVkt") == NULL);
	IB_CHECK(strstr(cap.text, "HostPrivateKey") == NULL ||
	    strstr(cap.text, "redacted") != NULL);
	/* and not the escrow bag, in hex or base64 */
	IB_CHECK_OK(ib_pair_record_parse(t->record, t->record_len, &rec));
	IB_CHECK_OK(ib_pair_record_escrow_bag(rec, &bag, &n));
	IB_CHECK_EQ(n, 32);
	ib_hex(bag, 32, hex);
	b64(bag, 30, b64bag);
	IB_CHECK(strstr(cap.text, hex) == NULL);
	IB_CHECK(strstr(cap.text, b64bag) == NULL);
	ib_pair_record_free(rec);
	free(cap.text);
	tdev_free(t);
}

int
main(int argc, char **argv)
{
	tdev_fast_keys();
	return ib_test_main(argc, argv);
}
