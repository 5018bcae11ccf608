/*
 * pairstore.c - usbmuxd-compatible pair-record directory.
 */
#include "pairstore.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A pair record holds three certificates, two keys and an escrow bag:
 * a few KiB. 1 MiB is far beyond any real one. */
#define PAIRSTORE_RECORD_MAX (1024u * 1024u)
#define SYSTEM_CONFIG "SystemConfiguration.plist"

struct ib_pairstore {
	char *dir;
	pthread_mutex_t lock;   /* serialises BUID creation */
};

int
ib_pairstore_default_dir(const char *explicit_dir, char **dirp)
{
	const char *xdg, *home;
	char *d;
	size_t n;

	*dirp = NULL;
	if (explicit_dir != NULL && explicit_dir[0] != '\0') {
		if ((*dirp = strdup(explicit_dir)) == NULL)
			return IB_ERR_NOMEM;
		return IB_OK;
	}
	if (access("/var/lib/lockdown", W_OK | X_OK) == 0) {
		if ((*dirp = strdup("/var/lib/lockdown")) == NULL)
			return IB_ERR_NOMEM;
		return IB_OK;
	}
	xdg = getenv("XDG_CONFIG_HOME");
	home = getenv("HOME");
	if (xdg == NULL || xdg[0] != '/') {
		if (home == NULL || home[0] != '/') {
			ib_err_detail_set("neither XDG_CONFIG_HOME nor HOME is set; "
			    "use --pair-records DIR");
			return IB_ERR_INVALID_ARG;
		}
		n = strlen(home) + 40;
		if ((d = malloc(n)) == NULL)
			return IB_ERR_NOMEM;
		snprintf(d, n, "%s/.config/ibackup/lockdown", home);
	} else {
		n = strlen(xdg) + 40;
		if ((d = malloc(n)) == NULL)
			return IB_ERR_NOMEM;
		snprintf(d, n, "%s/ibackup/lockdown", xdg);
	}
	*dirp = d;
	return IB_OK;
}

int
ib_pairstore_open(const char *dir, struct ib_pairstore **psp)
{
	struct ib_pairstore *ps;
	int r;

	*psp = NULL;
	if ((r = ib_mkdir_p(dir, 0700)) != IB_OK)
		return r;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return IB_ERR_NOMEM;
	if ((ps->dir = strdup(dir)) == NULL) {
		free(ps);
		return IB_ERR_NOMEM;
	}
	pthread_mutex_init(&ps->lock, NULL);
	*psp = ps;
	return IB_OK;
}

void
ib_pairstore_free(struct ib_pairstore *ps)
{
	if (ps == NULL)
		return;
	pthread_mutex_destroy(&ps->lock);
	free(ps->dir);
	free(ps);
}

const char *
ib_pairstore_dir(const struct ib_pairstore *ps)
{
	return ps->dir;
}

static int
udid_ok(const char *udid)
{
	size_t i, n;

	if (udid == NULL)
		return 0;
	n = strlen(udid);
	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char c = udid[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '-'))
			return 0;
	}
	return 1;
}

static int
record_path(const struct ib_pairstore *ps, const char *name, char **pathp)
{
	size_t n = strlen(ps->dir) + strlen(name) + 16;
	char *p;

	*pathp = NULL;
	if ((p = malloc(n)) == NULL)
		return IB_ERR_NOMEM;
	snprintf(p, n, "%s/%s", ps->dir, name);
	*pathp = p;
	return IB_OK;
}

static int
udid_path(const struct ib_pairstore *ps, const char *udid, char **pathp)
{
	char name[80];

	*pathp = NULL;
	if (!udid_ok(udid)) {
		ib_err_detail_set("refusing a pair record name that is not a UDID");
		return IB_ERR_INVALID_ARG;
	}
	snprintf(name, sizeof(name), "%s.plist", udid);
	return record_path(ps, name, pathp);
}

int
ib_pairstore_read(struct ib_pairstore *ps, const char *udid,
    uint8_t **datap, size_t *lenp)
{
	char *path = NULL;
	int r;

	*datap = NULL;
	*lenp = 0;
	if ((r = udid_path(ps, udid, &path)) != IB_OK)
		return r;
	r = ib_file_read(path, PAIRSTORE_RECORD_MAX, datap, lenp);
	free(path);
	return r;
}

int
ib_pairstore_save(struct ib_pairstore *ps, const char *udid,
    const uint8_t *data, size_t len)
{
	char *path = NULL, *xml = NULL;
	plist_t p = NULL;
	size_t xlen = 0;
	int r;

	if ((r = udid_path(ps, udid, &path)) != IB_OK)
		goto out;
	/* usbmuxd requires a dict of at least 8 bytes and rewrites as XML. */
	if (len < 8) {
		r = IB_ERR_FORMAT;
		goto out;
	}
	if ((r = ib_plist_parse_dict(data, len, PAIRSTORE_RECORD_MAX, &p)) != IB_OK)
		goto out;
	if ((r = ib_plist_to_xml(p, &xml, &xlen)) != IB_OK)
		goto out;
	r = ib_file_write_atomic(path, xml, xlen, 0600);
	if (r != IB_OK)
		r = IB_ERR_PAIR_RECORD_WRITE;
out:
	if (xml != NULL) {
		explicit_bzero(xml, xlen);
		free(xml);
	}
	plist_free(p);
	free(path);
	return r;
}

int
ib_pairstore_delete(struct ib_pairstore *ps, const char *udid)
{
	char *path = NULL;
	int r;

	if ((r = udid_path(ps, udid, &path)) != IB_OK)
		return r;
	if (unlink(path) != 0)
		r = ib_err_from_errno(errno, path);
	free(path);
	return r;
}

int
ib_pairstore_buid(struct ib_pairstore *ps, char **buidp)
{
	char *path = NULL, *xml = NULL;
	uint8_t *data = NULL;
	size_t len = 0, xlen = 0;
	plist_t p = NULL;
	const char *s;
	char uuid[37];
	int r;

	*buidp = NULL;
	pthread_mutex_lock(&ps->lock);
	if ((r = record_path(ps, SYSTEM_CONFIG, &path)) != IB_OK)
		goto out;
	r = ib_file_read(path, PAIRSTORE_RECORD_MAX, &data, &len);
	if (r == IB_OK && ib_plist_parse_dict(data, len, PAIRSTORE_RECORD_MAX, &p) == IB_OK &&
	    ib_plist_dict_get_string(p, "SystemBUID", &s) == IB_OK && s[0] != '\0') {
		*buidp = strdup(s);
		r = *buidp != NULL ? IB_OK : IB_ERR_NOMEM;
		goto out;
	}
	if (r != IB_OK && r != IB_ERR_NOT_FOUND)
		goto out;
	/* Missing or unreadable: make one and keep other keys if any. */
	if (p == NULL)
		p = plist_new_dict();
	if ((r = ib_uuid_upper(uuid)) != IB_OK)
		goto out;
	plist_dict_set_item(p, "SystemBUID", plist_new_string(uuid));
	if ((r = ib_plist_to_xml(p, &xml, &xlen)) != IB_OK)
		goto out;
	if ((r = ib_file_write_atomic(path, xml, xlen, 0644)) != IB_OK)
		goto out;
	ib_info("created SystemBUID %s in %s", uuid, path);
	*buidp = strdup(uuid);
	r = *buidp != NULL ? IB_OK : IB_ERR_NOMEM;
out:
	pthread_mutex_unlock(&ps->lock);
	plist_free(p);
	free(xml);
	free(data);
	free(path);
	return r;
}
