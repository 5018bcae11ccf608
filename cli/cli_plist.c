/*
 * cli_plist.c - plist values as text or JSON.
 */
#include "cli_plist.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_plist.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *
base64(const uint8_t *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	char *s = malloc((n + 2) / 3 * 4 + 1);

	if (s == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		s[o++] = tab[v >> 18];
		s[o++] = tab[(v >> 12) & 63];
		s[o++] = tab[(v >> 6) & 63];
		s[o++] = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		s[o++] = tab[v >> 18];
		s[o++] = tab[(v >> 12) & 63];
		s[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		s[o++] = '=';
	}
	s[o] = '\0';
	return s;
}

static void
iso_date(plist_t node, char *buf, size_t len)
{
	int64_t t = 0;
	time_t tt;
	struct tm tm;

	(void)ib_plist_get_date_unix(node, &t);
	tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Scalar as text into f. */
static void
scalar_text(FILE *f, plist_t p)
{
	const uint8_t *d;
	const char *s;
	uint64_t u;
	double r;
	int b;
	size_t n;
	char date[32];

	switch (plist_get_node_type(p)) {
	case PLIST_STRING:
		fputs(ib_plist_get_string(p, &s) == IB_OK ? s : "", f);
		break;
	case PLIST_BOOLEAN:
		(void)ib_plist_get_bool(p, &b);
		fputs(b ? "true" : "false", f);
		break;
	case PLIST_UINT:
		(void)ib_plist_get_uint(p, &u);
		fprintf(f, "%" PRIu64, u);
		break;
	case PLIST_REAL:
		(void)ib_plist_get_real(p, &r);
		fprintf(f, "%g", r);
		break;
	case PLIST_DATA: {
		char *b64;

		(void)ib_plist_get_data(p, &d, &n);
		b64 = base64(d, n);
		fputs(b64 != NULL ? b64 : "", f);
		free(b64);
		break;
	}
	case PLIST_DATE:
		iso_date(p, date, sizeof(date));
		fputs(date, f);
		break;
	default:
		fputs("?", f);
		break;
	}
}

static void
print_text(FILE *f, plist_t p, int indent, unsigned depth)
{
	plist_type t = plist_get_node_type(p);

	if (depth > IB_PLIST_DEPTH_MAX)
		return;
	if (t == PLIST_DICT) {
		plist_dict_iter it = NULL;
		char *key = NULL;
		plist_t v = NULL;

		plist_dict_new_iter(p, &it);
		for (;;) {
			plist_dict_next_item(p, it, &key, &v);
			if (v == NULL)
				break;
			fprintf(f, "%*s%s:", indent, "", key);
			if (ib_plist_key_is_secret(key)) {
				fputs(" <redacted>\n", f);
			} else if (ib_plist_is_dict(v) || ib_plist_is_array(v)) {
				fputc('\n', f);
				print_text(f, v, indent + 2, depth + 1);
			} else {
				fputc(' ', f);
				scalar_text(f, v);
				fputc('\n', f);
			}
			free(key);
			key = NULL;
		}
		free(it);
	} else if (t == PLIST_ARRAY) {
		uint32_t i, n = plist_array_get_size(p);

		for (i = 0; i < n; i++) {
			plist_t v = plist_array_get_item(p, i);

			fprintf(f, "%*s%u:", indent, "", i);
			if (ib_plist_is_dict(v) || ib_plist_is_array(v)) {
				fputc('\n', f);
				print_text(f, v, indent + 2, depth + 1);
			} else {
				fputc(' ', f);
				scalar_text(f, v);
				fputc('\n', f);
			}
		}
	} else {
		fprintf(f, "%*s", indent, "");
		scalar_text(f, p);
		fputc('\n', f);
	}
}

void
cli_plist_print_text(FILE *f, plist_t p)
{
	if (p != NULL)
		print_text(f, p, 0, 0);
}

static void
print_json(struct cli_json *j, const char *key, plist_t p, unsigned depth)
{
	const uint8_t *d;
	const char *s;
	uint64_t u;
	double r;
	int b;
	size_t n;
	char date[32];

	if (depth > IB_PLIST_DEPTH_MAX) {
		cli_json_null(j, key);
		return;
	}
	switch (plist_get_node_type(p)) {
	case PLIST_DICT: {
		plist_dict_iter it = NULL;
		char *k = NULL;
		plist_t v = NULL;

		cli_json_obj_open(j, key);
		plist_dict_new_iter(p, &it);
		for (;;) {
			plist_dict_next_item(p, it, &k, &v);
			if (v == NULL)
				break;
			if (ib_plist_key_is_secret(k))
				cli_json_str(j, k, "<redacted>");
			else
				print_json(j, k, v, depth + 1);
			free(k);
			k = NULL;
		}
		free(it);
		cli_json_obj_close(j);
		break;
	}
	case PLIST_ARRAY: {
		uint32_t i, cnt = plist_array_get_size(p);

		cli_json_arr_open(j, key);
		for (i = 0; i < cnt; i++)
			print_json(j, NULL, plist_array_get_item(p, i), depth + 1);
		cli_json_arr_close(j);
		break;
	}
	case PLIST_STRING:
		cli_json_str(j, key, ib_plist_get_string(p, &s) == IB_OK ? s : NULL);
		break;
	case PLIST_BOOLEAN:
		(void)ib_plist_get_bool(p, &b);
		cli_json_bool(j, key, b);
		break;
	case PLIST_UINT:
		(void)ib_plist_get_uint(p, &u);
		cli_json_uint(j, key, u);
		break;
	case PLIST_REAL:
		(void)ib_plist_get_real(p, &r);
		cli_json_real(j, key, r);
		break;
	case PLIST_DATA: {
		char *b64;

		(void)ib_plist_get_data(p, &d, &n);
		b64 = base64(d, n);
		cli_json_str(j, key, b64);
		free(b64);
		break;
	}
	case PLIST_DATE:
		iso_date(p, date, sizeof(date));
		cli_json_str(j, key, date);
		break;
	default:
		cli_json_null(j, key);
		break;
	}
}

void
cli_plist_print_json(struct cli_json *j, const char *key, plist_t p)
{
	if (p == NULL)
		cli_json_null(j, key);
	else
		print_json(j, key, p, 0);
}
