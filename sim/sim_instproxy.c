/*
 * sim_instproxy.c - the virtual device's installation_proxy: a fake list
 * of user apps and the answer to Browse (pages of IB_INSTPROXY_PAGE as a
 * real installd sends them, then Complete).
 */
#include "sim_services_int.h"
#include "ib_err.h"
#include "ib_plist.h"
#include "ib_util.h"
#include "instproxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the fake app list ------------------------------------------------------ */

static const struct {
	const char *id;
	const char *name;
} known_apps[] = {
	{ "com.example.notes", "Notes" },
	{ "com.example.weather", "Weather" },
	{ "com.example.chess", "Chess" },
	{ "com.example.recipes", "Recipes" },
	{ "com.example.podcasts", "Podcasts" },
};

/* A stand-in for an App Store SINF: a "sinf" box of invented bytes. */
static plist_t
fake_sinf(unsigned i)
{
	uint8_t d[96];
	size_t k;

	for (k = 0; k < sizeof(d); k++)
		d[k] = (uint8_t)(i * 31u + k * 7u);
	memcpy(d, "\0\0\0\x60sinf", 8);
	return plist_new_data((const char *)d, sizeof(d));
}

/* iTunesMetadata is a binary plist carried as data. */
static plist_t
fake_metadata(unsigned i, const char *id, const char *name, const char *version)
{
	plist_t meta = plist_new_dict(), out = NULL;
	uint8_t *bin = NULL;
	size_t len = 0;

	plist_dict_set_item(meta, "itemId", plist_new_uint(1000000u + i));
	plist_dict_set_item(meta, "itemName", plist_new_string(name));
	plist_dict_set_item(meta, "kind", plist_new_string("software"));
	plist_dict_set_item(meta, "softwareVersionBundleId", plist_new_string(id));
	plist_dict_set_item(meta, "bundleShortVersionString", plist_new_string(version));
	if (ib_plist_to_bin(meta, &bin, &len) == IB_OK)
		out = plist_new_data((const char *)bin, len);
	free(bin);
	plist_free(meta);
	return out;
}

plist_t
sim_apps_new(unsigned n)
{
	plist_t apps = plist_new_array(), app, meta;
	char id[64], name[32], version[16];
	unsigned i;

	for (i = 0; apps != NULL && i < n; i++) {
		if (i < IB_ARRAY_LEN(known_apps)) {
			snprintf(id, sizeof(id), "%s", known_apps[i].id);
			snprintf(name, sizeof(name), "%s", known_apps[i].name);
		} else {
			snprintf(id, sizeof(id), "com.example.app%u", i + 1);
			snprintf(name, sizeof(name), "App%u", i + 1);
		}
		snprintf(version, sizeof(version), "1.%u", i);
		if ((meta = fake_metadata(i, id, name, version)) == NULL) {
			plist_free(apps);
			return NULL;
		}
		app = plist_new_dict();
		plist_dict_set_item(app, "CFBundleIdentifier", plist_new_string(id));
		plist_dict_set_item(app, "ApplicationType", plist_new_string("User"));
		plist_dict_set_item(app, "CFBundleDisplayName", plist_new_string(name));
		plist_dict_set_item(app, "CFBundleName", plist_new_string(name));
		plist_dict_set_item(app, "CFBundleExecutable", plist_new_string(name));
		plist_dict_set_item(app, "CFBundleVersion", plist_new_string(version));
		plist_dict_set_item(app, "CFBundleShortVersionString", plist_new_string(version));
		plist_dict_set_item(app, "ApplicationSINF", fake_sinf(i));
		plist_dict_set_item(app, "iTunesMetadata", meta);
		plist_array_append_item(apps, app);
	}
	return apps;
}

/* The apps a Browse selects, each cut down to ReturnAttributes. */
static plist_t
browse_select(plist_t apps, plist_t opts)
{
	plist_t sel = plist_new_array(), attrs = NULL, app, item, out;
	const char *type = NULL, *key;
	uint32_t i, k, n = plist_array_get_size(apps);

	(void)ib_plist_dict_get_string(opts, "ApplicationType", &type);
	(void)ib_plist_dict_get_array(opts, "ReturnAttributes", &attrs);
	/* The sim has user apps only: "System", "Internal" select none. */
	if (type != NULL && strcmp(type, "User") != 0 && strcmp(type, "Any") != 0)
		return sel;
	for (i = 0; i < n; i++) {
		app = plist_array_get_item(apps, i);
		if (attrs == NULL) {
			plist_array_append_item(sel, plist_copy(app));
			continue;
		}
		out = plist_new_dict();
		for (k = 0; k < plist_array_get_size(attrs); k++) {
			if (ib_plist_array_get_string(attrs, k, &key) == IB_OK &&
			    (item = plist_dict_get_item(app, key)) != NULL)
				plist_dict_set_item(out, key, plist_copy(item));
		}
		plist_array_append_item(sel, out);
	}
	return sel;
}

int
sim_instproxy_answer(plist_t apps, int with_total, plist_t request, plist_t replies)
{
	const char *cmd;
	plist_t opts, sel, msg;
	uint32_t first, n;
	int r;

	if (ib_instproxy_request_parse(request, &cmd, &opts) != IB_OK) {
		if ((r = ib_instproxy_error_build("MissingCommand", NULL, &msg)) == IB_OK)
			plist_array_append_item(replies, msg);
		return r;
	}
	if (strcmp(cmd, "Browse") != 0) {
		if ((r = ib_instproxy_error_build("UnknownCommand",
		    "the virtual device only browses", &msg)) == IB_OK)
			plist_array_append_item(replies, msg);
		return r;
	}
	if ((sel = browse_select(apps, opts)) == NULL)
		return IB_ERR_NOMEM;
	n = plist_array_get_size(sel);
	for (first = 0, r = IB_OK; first < n && r == IB_OK; first += IB_INSTPROXY_PAGE) {
		r = ib_instproxy_page_build(sel, first, IB_MIN(IB_INSTPROXY_PAGE, n - first),
		    with_total, &msg);
		if (r == IB_OK)
			plist_array_append_item(replies, msg);
	}
	if (r == IB_OK && (r = ib_instproxy_status_build("Complete", &msg)) == IB_OK)
		plist_array_append_item(replies, msg);
	plist_free(sel);
	return r;
}
