/*
 * instproxy.c - installation_proxy Browse codec, shared by the host call
 * (instproxy_client.c) and the virtual device (sim/sim_services_serve.c).
 */
#include "instproxy.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"

#include <stdlib.h>
#include <string.h>

int
ib_instproxy_browse_request(const char *app_type, const char *const *attrs,
    plist_t *msgp)
{
	plist_t msg, opts, arr;
	size_t i;

	*msgp = NULL;
	if ((msg = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	opts = plist_new_dict();
	if (app_type != NULL)
		plist_dict_set_item(opts, "ApplicationType", plist_new_string(app_type));
	if (attrs != NULL) {
		arr = plist_new_array();
		for (i = 0; attrs[i] != NULL; i++)
			plist_array_append_item(arr, plist_new_string(attrs[i]));
		plist_dict_set_item(opts, "ReturnAttributes", arr);
	}
	plist_dict_set_item(msg, "Command", plist_new_string("Browse"));
	plist_dict_set_item(msg, "ClientOptions", opts);
	*msgp = msg;
	return IB_OK;
}

/* --- host-side reassembly ------------------------------------------------ */

struct ib_instproxy_browse {
	plist_t apps;           /* bundle id -> attributes, in arrival order */
	uint32_t count;
	size_t bytes;
	uint64_t total;
	int have_total;
	int done;
};

int
ib_instproxy_browse_new(struct ib_instproxy_browse **bp)
{
	struct ib_instproxy_browse *b = calloc(1, sizeof(*b));

	*bp = NULL;
	if (b == NULL || (b->apps = plist_new_dict()) == NULL) {
		free(b);
		return IB_ERR_NOMEM;
	}
	*bp = b;
	return IB_OK;
}

void
ib_instproxy_browse_free(struct ib_instproxy_browse *b)
{
	if (b == NULL)
		return;
	plist_free(b->apps);
	free(b);
}

/* Check the optional counters of a page against what came before it. */
static int
check_counters(struct ib_instproxy_browse *b, plist_t msg, uint32_t page_len)
{
	uint64_t v;
	int r;

	if ((r = ib_plist_dict_get_uint(msg, "CurrentAmount", &v)) == IB_OK && v != page_len) {
		ib_err_detail_set("installation_proxy: CurrentAmount %llu for %u apps",
		    (unsigned long long)v, page_len);
		return IB_ERR_SERVICE;
	}
	if (r == IB_ERR_PLIST_TYPE)
		return r;
	if ((r = ib_plist_dict_get_uint(msg, "CurrentIndex", &v)) == IB_OK && v != b->count) {
		ib_err_detail_set("installation_proxy: CurrentIndex %llu after %u apps",
		    (unsigned long long)v, b->count);
		return IB_ERR_SERVICE;
	}
	if (r == IB_ERR_PLIST_TYPE)
		return r;
	if ((r = ib_plist_dict_get_uint(msg, "Total", &v)) == IB_OK) {
		if ((b->have_total && v != b->total) || v < (uint64_t)b->count + page_len) {
			ib_err_detail_set("installation_proxy: Total %llu does not match "
			    "(%u apps so far)", (unsigned long long)v, b->count + page_len);
			return IB_ERR_SERVICE;
		}
		b->total = v;
		b->have_total = 1;
	}
	return r == IB_ERR_PLIST_TYPE ? r : IB_OK;
}

static int
add_app(struct ib_instproxy_browse *b, plist_t app)
{
	const char *id;
	int r;

	if (!ib_plist_is_dict(app)) {
		ib_err_detail_set("installation_proxy: an app entry is not a dict");
		return IB_ERR_PLIST_TYPE;
	}
	if ((r = ib_plist_dict_get_string(app, "CFBundleIdentifier", &id)) != IB_OK) {
		ib_err_detail_set("installation_proxy: an app has no string CFBundleIdentifier");
		return r;
	}
	if (plist_dict_get_item(b->apps, id) != NULL) {
		ib_err_detail_set("installation_proxy: %.200s listed twice", id);
		return IB_ERR_SERVICE;
	}
	if (b->count >= IB_INSTPROXY_APPS_MAX) {
		ib_err_detail_set("installation_proxy: more than %u apps", IB_INSTPROXY_APPS_MAX);
		return IB_ERR_TOO_LARGE;
	}
	plist_dict_set_item(b->apps, id, plist_copy(app));
	b->count++;
	return IB_OK;
}

static int
take_page(struct ib_instproxy_browse *b, plist_t msg)
{
	plist_t list;
	uint32_t i, n;
	int r;

	r = ib_plist_dict_get_array(msg, "CurrentList", &list);
	if (r == IB_ERR_PLIST_MISSING)
		return IB_OK;
	if (r != IB_OK)
		return r;
	n = plist_array_get_size(list);
	if ((r = check_counters(b, msg, n)) != IB_OK)
		return r;
	for (i = 0; i < n; i++)
		if ((r = add_app(b, plist_array_get_item(list, i))) != IB_OK)
			return r;
	return IB_OK;
}

int
ib_instproxy_browse_feed(struct ib_instproxy_browse *b, plist_t msg,
    size_t wire_bytes, int *donep)
{
	const char *status, *error, *desc;
	int r;

	*donep = 0;
	if (b->done)
		return IB_ERR_STATE;
	if (wire_bytes > IB_INSTPROXY_BYTES_MAX - b->bytes) {
		ib_err_detail_set("installation_proxy: Browse answer above %u bytes",
		    IB_INSTPROXY_BYTES_MAX);
		return IB_ERR_TOO_LARGE;
	}
	b->bytes += wire_bytes;
	if (!ib_plist_is_dict(msg)) {
		ib_err_detail_set("installation_proxy: message is not a dict");
		return IB_ERR_SERVICE;
	}
	if (ib_plist_dict_get_string(msg, "Error", &error) == IB_OK) {
		if (ib_plist_dict_get_string(msg, "ErrorDescription", &desc) != IB_OK)
			desc = "";
		ib_err_detail_set("installation_proxy: Error %.100s: %.200s", error, desc);
		return IB_ERR_SERVICE;
	}
	if (ib_plist_dict_get_string(msg, "Status", &status) != IB_OK) {
		ib_err_detail_set("installation_proxy: message without a string Status");
		return IB_ERR_SERVICE;
	}
	/* Apps in any status message count, as in libimobiledevice and
	 * pymobiledevice3 (only BrowsingApplications carries them in
	 * practice). */
	if ((r = take_page(b, msg)) != IB_OK)
		return r;
	if (strcmp(status, "Complete") != 0) {
		if (strcmp(status, "BrowsingApplications") != 0)
			ib_debug("installation_proxy: Status %.64s", status);
		return IB_OK;
	}
	if (b->have_total && b->total != b->count) {
		ib_err_detail_set("installation_proxy: Complete after %u of Total %llu apps",
		    b->count, (unsigned long long)b->total);
		return IB_ERR_SERVICE;
	}
	b->done = 1;
	*donep = 1;
	return IB_OK;
}

int
ib_instproxy_browse_take(struct ib_instproxy_browse *b, plist_t *appsp)
{
	*appsp = NULL;
	if (!b->done)
		return IB_ERR_STATE;
	if (b->apps == NULL && (b->apps = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	*appsp = b->apps;
	b->apps = NULL;
	return IB_OK;
}

/* --- device side ----------------------------------------------------------- */

int
ib_instproxy_request_parse(plist_t msg, const char **commandp, plist_t *optionsp)
{
	int r;

	*commandp = NULL;
	*optionsp = NULL;
	if (!ib_plist_is_dict(msg))
		return IB_ERR_PLIST_TYPE;
	if ((r = ib_plist_dict_get_string(msg, "Command", commandp)) != IB_OK)
		return r;
	r = ib_plist_dict_get_dict(msg, "ClientOptions", optionsp);
	return r == IB_ERR_PLIST_MISSING ? IB_OK : r;
}

int
ib_instproxy_page_build(plist_t apps, uint32_t first, uint32_t count,
    int with_total, plist_t *msgp)
{
	uint32_t i, n = plist_array_get_size(apps);
	plist_t msg, list;

	*msgp = NULL;
	if (first > n || count > n - first)
		return IB_ERR_INVALID_ARG;
	if ((msg = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	list = plist_new_array();
	for (i = 0; i < count; i++)
		plist_array_append_item(list, plist_copy(plist_array_get_item(apps, first + i)));
	plist_dict_set_item(msg, "Status", plist_new_string("BrowsingApplications"));
	plist_dict_set_item(msg, "CurrentIndex", plist_new_uint(first));
	plist_dict_set_item(msg, "CurrentAmount", plist_new_uint(count));
	plist_dict_set_item(msg, "CurrentList", list);
	if (with_total)
		plist_dict_set_item(msg, "Total", plist_new_uint(n));
	*msgp = msg;
	return IB_OK;
}

int
ib_instproxy_status_build(const char *status, plist_t *msgp)
{
	if ((*msgp = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	plist_dict_set_item(*msgp, "Status", plist_new_string(status));
	return IB_OK;
}

int
ib_instproxy_error_build(const char *error, const char *description, plist_t *msgp)
{
	if ((*msgp = plist_new_dict()) == NULL)
		return IB_ERR_NOMEM;
	plist_dict_set_item(*msgp, "Error", plist_new_string(error));
	if (description != NULL)
		plist_dict_set_item(*msgp, "ErrorDescription", plist_new_string(description));
	return IB_OK;
}
