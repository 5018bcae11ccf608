/*
 * ld_testnet.c - socketpair "network" and a virtual lockdownd for tests.
 */
#include "ld_testnet.h"

#include "ib_err.h"
#include "ib_log.h"
#include "ib_util.h"
#include "ld_tls.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS 256
#define MAX_THREADS 1024

struct port {
	uint16_t port;
	testnet_fn fn;
	void *arg;
	unsigned left;          /* 0 = unlimited */
	int limited;
	unsigned dials;
};

struct testnet {
	pthread_mutex_t mu;
	struct port ports[MAX_PORTS];
	size_t nports;
	uint16_t next_dynamic;
	pthread_t threads[MAX_THREADS];
	size_t nthreads;
};

struct job {
	testnet_fn fn;
	void *arg;
	int fd;
};

int
testnet_new(struct testnet **tp)
{
	struct testnet *t = calloc(1, sizeof(*t));

	*tp = NULL;
	if (t == NULL)
		return IB_ERR_NOMEM;
	pthread_mutex_init(&t->mu, NULL);
	t->next_dynamic = 49152;
	*tp = t;
	return IB_OK;
}

void
testnet_free(struct testnet *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nthreads; i++)
		pthread_join(t->threads[i], NULL);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

int
testnet_listen(struct testnet *t, uint16_t port, testnet_fn fn, void *arg,
    unsigned count)
{
	struct port *p;

	pthread_mutex_lock(&t->mu);
	if (t->nports == MAX_PORTS) {
		pthread_mutex_unlock(&t->mu);
		return IB_ERR_BUSY;
	}
	p = &t->ports[t->nports++];
	memset(p, 0, sizeof(*p));
	p->port = port;
	p->fn = fn;
	p->arg = arg;
	p->left = count;
	p->limited = count != 0;
	pthread_mutex_unlock(&t->mu);
	return IB_OK;
}

int
testnet_listen_dynamic(struct testnet *t, testnet_fn fn, void *arg,
    unsigned count, uint16_t *portp)
{
	uint16_t port;

	pthread_mutex_lock(&t->mu);
	port = t->next_dynamic++;
	pthread_mutex_unlock(&t->mu);
	*portp = port;
	return testnet_listen(t, port, fn, arg, count);
}

static void *
run_job(void *arg)
{
	struct job *j = arg;

	j->fn(j->arg, j->fd);
	close(j->fd);
	free(j);
	return NULL;
}

int
testnet_dial(struct testnet *t, uint16_t port, int *fdp)
{
	struct job *j = NULL;
	struct port *p = NULL;
	int sv[2], r = IB_ERR_MUX_REFUSED;
	size_t i;

	*fdp = -1;
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->nports; i++)
		if (t->ports[i].port == port && (!t->ports[i].limited || t->ports[i].left > 0))
			p = &t->ports[i];
	if (p == NULL || t->nthreads == MAX_THREADS)
		goto out;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		r = IB_ERR_SYSTEM;
		goto out;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		close(sv[0]);
		close(sv[1]);
		r = IB_ERR_NOMEM;
		goto out;
	}
	j->fn = p->fn;
	j->arg = p->arg;
	j->fd = sv[1];
	if (pthread_create(&t->threads[t->nthreads], NULL, run_job, j) != 0) {
		close(sv[0]);
		close(sv[1]);
		free(j);
		r = IB_ERR_SYSTEM;
		goto out;
	}
	t->nthreads++;
	if (p->limited)
		p->left--;
	p->dials++;
	*fdp = sv[0];
	r = IB_OK;
out:
	pthread_mutex_unlock(&t->mu);
	return r;
}

unsigned
testnet_dials(struct testnet *t, uint16_t port)
{
	unsigned n = 0;
	size_t i;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->nports; i++)
		if (port == 0 || t->ports[i].port == port)
			n += t->ports[i].dials;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* --- the virtual device -------------------------------------------------- */

static void
serve_lockdownd(void *arg, int fd)
{
	ld_device_serve(arg, fd);
}

static void
accept_token(void *token, int fd)
{
	ld_device_accept(token, fd);
}

static int
listen_once(void *ctx, const char *name, void *token, uint16_t *portp)
{
	(void)name;
	return testnet_listen_dynamic(ctx, accept_token, token, 1, portp);
}

static int
env_dial(void *ctx, const char *udid, uint16_t port, struct ib_conn **cp)
{
	struct tdev *t = ctx;
	int fd, r;

	*cp = NULL;
	if (strcmp(udid, t->udid) != 0)
		return IB_ERR_DEVICE_NOT_FOUND;
	if ((r = testnet_dial(t->net, port, &fd)) != IB_OK)
		return r;
	if ((r = ib_conn_new_fd(fd, IB_CONN_ROLE_HOST, 1, cp)) != IB_OK)
		close(fd);
	return r;
}

static int
env_read(void *ctx, const char *udid, uint8_t **datap, size_t *lenp)
{
	struct tdev *t = ctx;

	(void)udid;
	*datap = NULL;
	*lenp = 0;
	if (t->record == NULL)
		return IB_ERR_NOT_FOUND;
	if ((*datap = malloc(t->record_len)) == NULL)
		return IB_ERR_NOMEM;
	memcpy(*datap, t->record, t->record_len);
	*lenp = t->record_len;
	return IB_OK;
}

static int
env_save(void *ctx, const char *udid, const uint8_t *data, size_t len)
{
	struct tdev *t = ctx;
	uint8_t *copy = malloc(len);

	(void)udid;
	if (copy == NULL)
		return IB_ERR_NOMEM;
	memcpy(copy, data, len);
	free(t->record);
	t->record = copy;
	t->record_len = len;
	t->saves++;
	return IB_OK;
}

static int
env_delete(void *ctx, const char *udid)
{
	struct tdev *t = ctx;

	(void)udid;
	if (t->record == NULL)
		return IB_ERR_NOT_FOUND;
	free(t->record);
	t->record = NULL;
	t->record_len = 0;
	return IB_OK;
}

static int
env_buid(void *ctx, char **buidp)
{
	struct tdev *t = ctx;

	return (*buidp = strdup(t->buid)) != NULL ? IB_OK : IB_ERR_NOMEM;
}

void
tdev_config(struct ld_device_config *cfg, const char *ios, const char *trust)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->udid = "00008110-000A1B2C3D4E5F60";
	cfg->device_name = "Test iPhone";
	cfg->ecid = 0x000A1B2C3D4E5F60ull;
	cfg->wifi_address = "f0:18:98:aa:bb:cc";
	if (ios != NULL)
		(void)ld_device_profile(ios, cfg);
	if (trust != NULL)
		(void)ld_device_parse_trust(trust, cfg);
}

int
tdev_new(const struct ld_device_config *cfg, struct tdev **tp)
{
	struct ld_device_config def;
	struct ld_device_ops ops;
	struct tdev *t;
	int r;

	*tp = NULL;
	if (cfg == NULL) {
		tdev_config(&def, "17.5", "accept");
		cfg = &def;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return IB_ERR_NOMEM;
	if ((r = testnet_new(&t->net)) != IB_OK)
		goto fail;
	ops.listen_once = listen_once;
	ops.ctx = t->net;
	if ((r = ld_device_new(cfg, &ops, &t->dev)) != IB_OK)
		goto fail;
	if ((r = testnet_listen(t->net, IB_LOCKDOWN_PORT, serve_lockdownd, t->dev, 0)) != IB_OK)
		goto fail;
	snprintf(t->udid, sizeof(t->udid), "%s", cfg->udid != NULL ? cfg->udid :
	    "00008110-001A2B3C4D5E6F70");
	if ((r = ib_uuid_upper(t->buid)) != IB_OK)
		goto fail;
	t->env.dial = env_dial;
	t->env.read_record = env_read;
	t->env.save_record = env_save;
	t->env.delete_record = env_delete;
	t->env.read_buid = env_buid;
	t->env.ctx = t;
	*tp = t;
	return IB_OK;
fail:
	tdev_free(t);
	return r;
}

void
tdev_free(struct tdev *t)
{
	if (t == NULL)
		return;
	testnet_free(t->net);
	ld_device_free(t->dev);
	free(t->record);
	free(t);
}

int
tdev_open(struct tdev *t, struct ib_lockdown **ldp)
{
	return ld_open_env(&t->env, t->udid, NULL, ldp);
}

int
tdev_session(struct tdev *t, struct ib_lockdown **ldp)
{
	struct ib_lockdown_opts o;

	memset(&o, 0, sizeof(o));
	o.no_auto_pair = 1;
	return ld_session_open_env(&t->env, t->udid, &o, NULL, NULL, ldp);
}

int
tdev_pair(struct tdev *t)
{
	struct ib_lockdown *ld = NULL;
	int r;

	if ((r = tdev_open(t, &ld)) != IB_OK)
		return r;
	r = ib_lockdown_pair_interactive(ld, 10000, NULL, NULL);
	ib_lockdown_close(ld);
	return r;
}

/* --- a pool of RSA keys ----------------------------------------------------- */

#define POOL_KEYS 7     /* prime: root, host and device keys rotate */

static EVP_PKEY *pool[POOL_KEYS];
static unsigned pool_next;
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;

static int
pool_key(EVP_PKEY **keyp)
{
	int r = IB_OK;

	pthread_mutex_lock(&pool_mu);
	if (pool[pool_next] == NULL && (pool[pool_next] = EVP_RSA_gen(2048)) == NULL)
		r = IB_ERR_CERT;
	if (r == IB_OK && EVP_PKEY_up_ref(pool[pool_next]) == 1)
		*keyp = pool[pool_next];
	else
		r = IB_ERR_CERT;
	pool_next = (pool_next + 1) % POOL_KEYS;
	pthread_mutex_unlock(&pool_mu);
	return r;
}

static void
pool_free(void)
{
	size_t i;

	for (i = 0; i < POOL_KEYS; i++)
		EVP_PKEY_free(pool[i]);
}

void
tdev_fast_keys(void)
{
	static int once;

	ld_rsa_key_source_set(pool_key);
	if (!once++)
		atexit(pool_free);
}

/* --- log capture ---------------------------------------------------------- */

static void
tlog_sink(void *ctx, int level, const char *line)
{
	struct tlog *l = ctx;
	size_t n = strlen(line);
	char *p;

	(void)level;
	pthread_mutex_lock(&l->mu);
	if ((p = realloc(l->text, l->len + n + 2)) != NULL) {
		l->text = p;
		memcpy(l->text + l->len, line, n);
		l->text[l->len + n] = '\n';
		l->len += n + 1;
		l->text[l->len] = '\0';
	}
	pthread_mutex_unlock(&l->mu);
}

void
tlog_start(struct tlog *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	l->old_level = ib_log_get_level();
	ib_log_set_sink(tlog_sink, l);
	ib_log_set_level(IB_LOG_TRACE);
}

void
tlog_stop(struct tlog *l)
{
	ib_log_set_level(l->old_level);
	ib_log_set_sink(NULL, NULL);
	pthread_mutex_destroy(&l->mu);
}
