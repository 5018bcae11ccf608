/*
 * sim_proto.c - framing and messages of the virtual device's socket
 * protocol (sim_proto.h, doc/sim-protocol.md).
 */
#include "sim_proto.h"

#include "ib_err.h"
#include "ib_limits.h"
#include "ib_log.h"
#include "ib_plist.h"
#include "ib_util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Length prefix of every message. */
#define MSG_HDR 4u
/* Error codes travel as -IB_ERR_*: the table's range. */
#define CODE_MAX 999u
/* Timeout of `ibackup-sim control`. */
#define CONTROL_TIMEOUT_MS 10000

int
ib_sim_msg_encode(plist_t dict, uint8_t **outp, size_t *lenp)
{
	char *xml = NULL;
	size_t xlen = 0;
	uint8_t *out = NULL;
	int r;

	*outp = NULL;
	*lenp = 0;
	if (!ib_plist_is_dict(dict))
		return IB_ERR_INVALID_ARG;
	if ((r = ib_plist_to_xml(dict, &xml, &xlen)) != IB_OK)
		goto out;
	if (xlen > IB_SIM_MSG_MAX) {
		r = IB_ERR_TOO_LARGE;
		goto out;
	}
	if ((out = malloc(MSG_HDR + xlen)) == NULL) {
		r = IB_ERR_NOMEM;
		goto out;
	}
	out[0] = (uint8_t)(xlen >> 24);
	out[1] = (uint8_t)(xlen >> 16);
	out[2] = (uint8_t)(xlen >> 8);
	out[3] = (uint8_t)xlen;
	memcpy(out + MSG_HDR, xml, xlen);
	*outp = out;
	*lenp = MSG_HDR + xlen;
	r = IB_OK;
out:
	free(xml);
	return r;
}

int
ib_sim_msg_take(struct ib_buf *in, plist_t *dictp)
{
	const uint8_t *p;
	uint32_t len;
	int r;

	*dictp = NULL;
	if ((r = ib_buf_peek_u32be(in, 0, &len)) != IB_OK)
		return r;
	if (len > IB_SIM_MSG_MAX) {
		ib_err_detail_set("sim message of %u bytes (cap %u)",
		    (unsigned)len, IB_SIM_MSG_MAX);
		return IB_ERR_TOO_LARGE;
	}
	if (ib_buf_len(in) - MSG_HDR < len)
		return IB_ERR_INCOMPLETE;
	if ((r = ib_buf_consume(in, MSG_HDR)) != IB_OK ||
	    (r = ib_buf_get_ptr(in, len, &p)) != IB_OK)
		return r;
	return ib_plist_parse_dict(p, len, IB_SIM_MSG_MAX, dictp);
}

static int
wait_fd(int fd, short events, int timeout_ms, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int left = -1, n;

	if (timeout_ms >= 0) {
		uint64_t now = ib_now_ms();

		left = now >= deadline ? 0 : (int)(deadline - now);
	}
	n = poll(&pfd, 1, left);
	if (n < 0)
		return errno == EINTR ? IB_OK : ib_err_from_errno(errno, "poll");
	if (n == 0) {
		ib_err_detail_set("no answer from the simulator within %d ms", timeout_ms);
		return IB_ERR_TIMEOUT;
	}
	return IB_OK;
}

static int
write_all(int fd, const uint8_t *p, size_t n, int timeout_ms)
{
	uint64_t deadline = ib_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int r;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return errno == EPIPE || errno == ECONNRESET ?
				    IB_ERR_EOF : ib_err_from_errno(errno, "send");
			if ((r = wait_fd(fd, POLLOUT, timeout_ms, deadline)) != IB_OK)
				return r;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return IB_OK;
}

static int
read_exact(int fd, uint8_t *p, size_t n, int timeout_ms, uint64_t deadline)
{
	int r;

	while (n > 0) {
		ssize_t got = recv(fd, p, n, MSG_DONTWAIT);

		if (got == 0)
			return IB_ERR_EOF;
		if (got < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return errno == ECONNRESET ? IB_ERR_EOF :
				    ib_err_from_errno(errno, "recv");
			if ((r = wait_fd(fd, POLLIN, timeout_ms, deadline)) != IB_OK)
				return r;
			continue;
		}
		p += got;
		n -= (size_t)got;
	}
	return IB_OK;
}

int
ib_sim_msg_send(int fd, plist_t dict, int timeout_ms)
{
	uint8_t *msg = NULL;
	size_t len;
	int r;

	if ((r = ib_sim_msg_encode(dict, &msg, &len)) != IB_OK)
		return r;
	r = write_all(fd, msg, len, timeout_ms);
	free(msg);
	return r;
}

int
ib_sim_msg_recv(int fd, int timeout_ms, plist_t *dictp)
{
	uint64_t deadline = ib_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	uint8_t hdr[MSG_HDR];
	uint8_t *msg = NULL;
	struct ib_buf b;
	uint32_t len;
	int r;

	*dictp = NULL;
	if ((r = read_exact(fd, hdr, sizeof(hdr), timeout_ms, deadline)) != IB_OK)
		return r;
	ib_buf_init_ro(&b, hdr, sizeof(hdr));
	if ((r = ib_buf_get_u32be(&b, &len)) != IB_OK)
		return r;
	if (len > IB_SIM_MSG_MAX) {
		ib_err_detail_set("sim message of %u bytes (cap %u)",
		    (unsigned)len, IB_SIM_MSG_MAX);
		return IB_ERR_TOO_LARGE;
	}
	if ((msg = malloc(len > 0 ? len : 1)) == NULL)
		return IB_ERR_NOMEM;
	if ((r = read_exact(fd, msg, len, timeout_ms, deadline)) == IB_OK)
		r = ib_plist_parse_dict(msg, len, IB_SIM_MSG_MAX, dictp);
	free(msg);
	return r;
}

plist_t
ib_sim_reply_ok(void)
{
	plist_t d = plist_new_dict();

	plist_dict_set_item(d, "Status", plist_new_string("OK"));
	return d;
}

plist_t
ib_sim_reply_error(int err, const char *detail)
{
	plist_t d = plist_new_dict();

	if (err >= 0 || (unsigned)-err > CODE_MAX)
		err = IB_ERR_INTERNAL;
	plist_dict_set_item(d, "Status", plist_new_string("Error"));
	plist_dict_set_item(d, "Code", plist_new_uint((uint64_t)-err));
	plist_dict_set_item(d, "Error", plist_new_string(ib_errname(err)));
	plist_dict_set_item(d, "Detail", plist_new_string(detail != NULL ? detail : ""));
	return d;
}

int
ib_sim_reply_status(plist_t reply)
{
	const char *status, *detail;
	uint64_t code;
	int r;

	if ((r = ib_plist_dict_get_string(reply, "Status", &status)) != IB_OK)
		return r;
	if (strcmp(status, "OK") == 0)
		return IB_OK;
	if (strcmp(status, "Error") != 0) {
		ib_err_detail_set("sim reply has Status \"%.40s\"", status);
		return IB_ERR_FORMAT;
	}
	if ((r = ib_plist_dict_get_uint(reply, "Code", &code)) != IB_OK)
		return r;
	if (code == 0 || code > CODE_MAX) {
		ib_err_detail_set("sim reply has error code %llu", (unsigned long long)code);
		return IB_ERR_FORMAT;
	}
	if (ib_plist_dict_get_string(reply, "Detail", &detail) == IB_OK && detail[0] != '\0')
		ib_err_detail_set("simulator: %.200s", detail);
	else
		ib_err_detail_clear();
	return -(int)code;
}

plist_t
ib_sim_devinfo_to_plist(const struct ib_sim_devinfo *d)
{
	plist_t p = plist_new_dict();

	plist_dict_set_item(p, "UDID", plist_new_string(d->udid));
	plist_dict_set_item(p, "USBSerialNumber", plist_new_string(d->usb_serial));
	plist_dict_set_item(p, "ProductID", plist_new_uint(d->product_id));
	plist_dict_set_item(p, "LocationID", plist_new_uint(d->location));
	plist_dict_set_item(p, "ConnectionSpeed", plist_new_uint(d->speed_bps));
	plist_dict_set_item(p, "ProductType", plist_new_string(d->product_type));
	plist_dict_set_item(p, "ProductVersion", plist_new_string(d->product_version));
	plist_dict_set_item(p, "BuildVersion", plist_new_string(d->build_version));
	plist_dict_set_item(p, "DeviceName", plist_new_string(d->device_name));
	return p;
}

/* Copy a string value into a fixed field; too long is malformed. */
static int
get_str(plist_t dict, const char *key, char *out, size_t size)
{
	const char *s;
	size_t n;
	int r;

	out[0] = '\0';
	if ((r = ib_plist_dict_get_string(dict, key, &s)) != IB_OK) {
		ib_err_detail_set("sim device description: %s", key);
		return r;
	}
	if ((n = strlen(s)) >= size) {
		ib_err_detail_set("sim device description: %s is %zu bytes", key, n);
		return IB_ERR_TOO_LARGE;
	}
	memcpy(out, s, n + 1);
	return IB_OK;
}

static int
get_uint(plist_t dict, const char *key, uint64_t max, uint64_t *vp)
{
	int r;

	if ((r = ib_plist_dict_get_uint(dict, key, vp)) != IB_OK) {
		ib_err_detail_set("sim device description: %s", key);
		return r;
	}
	if (*vp > max) {
		ib_err_detail_set("sim device description: %s out of range", key);
		*vp = 0;
		return IB_ERR_FORMAT;
	}
	return IB_OK;
}

int
ib_sim_devinfo_from_plist(plist_t dict, struct ib_sim_devinfo *outp)
{
	struct ib_sim_devinfo d;
	uint64_t pid, loc, speed;
	int r;

	memset(&d, 0, sizeof(d));
	if (!ib_plist_is_dict(dict))
		return IB_ERR_PLIST_TYPE;
	if ((r = get_str(dict, "UDID", d.udid, sizeof(d.udid))) != IB_OK ||
	    (r = get_str(dict, "USBSerialNumber", d.usb_serial, sizeof(d.usb_serial))) != IB_OK ||
	    (r = get_str(dict, "ProductType", d.product_type, sizeof(d.product_type))) != IB_OK ||
	    (r = get_str(dict, "ProductVersion", d.product_version, sizeof(d.product_version))) != IB_OK ||
	    (r = get_str(dict, "BuildVersion", d.build_version, sizeof(d.build_version))) != IB_OK ||
	    (r = get_str(dict, "DeviceName", d.device_name, sizeof(d.device_name))) != IB_OK ||
	    (r = get_uint(dict, "ProductID", UINT16_MAX, &pid)) != IB_OK ||
	    (r = get_uint(dict, "LocationID", UINT32_MAX, &loc)) != IB_OK ||
	    (r = get_uint(dict, "ConnectionSpeed", UINT64_MAX, &speed)) != IB_OK)
		return r;
	if (d.udid[0] == '\0') {
		ib_err_detail_set("sim device description: empty UDID");
		return IB_ERR_FORMAT;
	}
	d.product_id = (uint16_t)pid;
	d.location = (uint32_t)loc;
	d.speed_bps = speed;
	*outp = d;
	return IB_OK;
}

int
ib_sim_devinfo_list(plist_t reply, struct ib_sim_devinfo **devsp, size_t *np)
{
	struct ib_sim_devinfo *devs = NULL;
	plist_t arr, item;
	uint32_t i, n;
	int r;

	*devsp = NULL;
	*np = 0;
	if ((r = ib_plist_dict_get_array(reply, "Devices", &arr)) != IB_OK)
		return r;
	n = plist_array_get_size(arr);
	if (n > IB_SIM_MAX_DEVICES) {
		ib_err_detail_set("sim lists %u devices (cap %u)", n, IB_SIM_MAX_DEVICES);
		return IB_ERR_PLIST_TOO_MANY;
	}
	if ((devs = calloc(n > 0 ? n : 1, sizeof(*devs))) == NULL)
		return IB_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if ((r = ib_plist_array_get_dict(arr, i, &item)) != IB_OK ||
		    (r = ib_sim_devinfo_from_plist(item, &devs[i])) != IB_OK)
			goto out;
	}
	*devsp = devs;
	*np = n;
	devs = NULL;
	r = IB_OK;
out:
	free(devs);
	return r;
}

int
ib_sim_client_connect(const char *path, int timeout_ms, int *fdp)
{
	struct sockaddr_un sa;
	int fd;

	(void)timeout_ms;       /* a UNIX connect either succeeds or fails at once */
	*fdp = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (path == NULL || strlen(path) >= sizeof(sa.sun_path)) {
		ib_err_detail_set("sim socket path too long or missing");
		return IB_ERR_INVALID_ARG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ib_err_from_errno(errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		ib_err_detail_set("cannot connect to the simulator at %s: %s",
		    path, strerror(errno));
		close(fd);
		return IB_ERR_TRANSPORT;
	}
	*fdp = fd;
	return IB_OK;
}

int
ib_sim_client_request(int fd, plist_t request, int timeout_ms, plist_t *replyp)
{
	plist_t reply = NULL;
	int r;

	if (replyp != NULL)
		*replyp = NULL;
	if ((r = ib_sim_msg_send(fd, request, timeout_ms)) != IB_OK ||
	    (r = ib_sim_msg_recv(fd, timeout_ms, &reply)) != IB_OK)
		goto out;
	if ((r = ib_sim_reply_status(reply)) != IB_OK)
		goto out;
	if (replyp != NULL) {
		*replyp = reply;
		reply = NULL;
	}
out:
	plist_free(reply);
	return r;
}

int
ib_sim_client_control(const char *path, const char *udid, const char *action,
    const char *arg)
{
	plist_t req = plist_new_dict();
	int fd = -1, r;

	plist_dict_set_item(req, "Request", plist_new_string("Control"));
	plist_dict_set_item(req, "ProtocolVersion", plist_new_uint(IB_SIM_PROTO_VERSION));
	if (udid != NULL)
		plist_dict_set_item(req, "UDID", plist_new_string(udid));
	plist_dict_set_item(req, "Action", plist_new_string(action));
	if (arg != NULL)
		plist_dict_set_item(req, "Arg", plist_new_string(arg));
	if ((r = ib_sim_client_connect(path, CONTROL_TIMEOUT_MS, &fd)) != IB_OK)
		goto out;
	r = ib_sim_client_request(fd, req, CONTROL_TIMEOUT_MS, NULL);
out:
	if (fd >= 0)
		close(fd);
	plist_free(req);
	return r;
}
