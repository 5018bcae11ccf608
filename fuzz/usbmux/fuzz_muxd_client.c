/*
 * fuzz_muxd_client - bytes from a usbmuxd server into ibackup's client:
 *   1. the Listen socket handler of the "usbmuxd" transport (listen_input
 *      in tr_usbmuxd.c, included here to reach it, as libusb's fuzzer
 *      includes descriptor.c) in the chunking the first byte picks, with
 *      a fake core that checks the transport never reports a device twice
 *      or detaches one it did not attach;
 *   2. the exact-size reader used for every request's reply
 *      (ib_muxd_recv_msg, over a socketpair) and the reply check of every
 *      request kind on each message it returns;
 *   3. the $USBMUXD_SOCKET_ADDRESS parser on the input as text.
 */
#include "../../usbmux/tr_usbmuxd.c"

#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- a core that checks what it is told ----------------------------------- */

struct ib_usbmux {
	uint32_t present[IB_MUXD_MAX_DEVICES];
	size_t n;
};

void
ib_usbmux_core_attached(struct ib_usbmux *core, const struct ib_device *dev)
{
	size_t i;

	for (i = 0; i < core->n; i++)
		if (core->present[i] == dev->handle)
			abort();        /* attached twice */
	if (dev->udid[0] == '\0' || dev->conn != IB_CONN_USBMUXD || core->n == IB_MUXD_MAX_DEVICES)
		abort();
	core->present[core->n++] = dev->handle;
}

void
ib_usbmux_core_detached(struct ib_usbmux *core, uint32_t handle)
{
	size_t i;

	for (i = 0; i < core->n; i++) {
		if (core->present[i] == handle) {
			core->present[i] = core->present[--core->n];
			return;
		}
	}
	abort();                        /* never attached */
}

uint32_t
ib_usbmux_core_next_handle(struct ib_usbmux *core)
{
	(void)core;
	return 1;
}

static void
fuzz_listen(const uint8_t *data, size_t size)
{
	static struct ib_usbmux core;
	struct muxd_tr *t = calloc(1, sizeof(*t));
	size_t chunk = data[0] == 0 ? size : data[0], off = 1, n;

	if (t == NULL)
		return;
	memset(&core, 0, sizeof(core));
	t->core = &core;
	t->lfd = t->stop_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->report_lock, NULL);
	pthread_cond_init(&t->settled_cond, NULL);
	ib_muxd_decoder_init(&t->dec);
	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		if (listen_input(t, data + off, n) != IB_OK)
			break;
		off += n;
	}
	if (core.n != t->nknown)
		abort();
	report_all_detached(t);
	if (core.n != 0)
		abort();
	tr_close(t);
}

static void
fuzz_replies(const uint8_t *data, size_t size)
{
	static const enum ib_muxd_kind ops[] = {
		IB_MUXD_K_LISTEN, IB_MUXD_K_CONNECT, IB_MUXD_K_LIST_DEVICES,
		IB_MUXD_K_LIST_LISTENERS, IB_MUXD_K_READ_BUID, IB_MUXD_K_READ_PAIR_RECORD,
		IB_MUXD_K_SAVE_PAIR_RECORD, IB_MUXD_K_DELETE_PAIR_RECORD,
	};
	struct ib_muxd_msg m;
	size_t i;
	int sv[2], r;

	/* Bigger inputs would block in the socket; the framing of large
	 * messages is covered by fuzz_listen. */
	if (size > 100000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return;
	if (write(sv[0], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	shutdown(sv[0], SHUT_WR);
	for (;;) {
		r = ib_muxd_recv_msg(sv[1], 1000, &m);
		if (r == IB_ERR_EOF || r == IB_ERR_TIMEOUT || r == IB_ERR_MUXD_PROTOCOL ||
		    r == IB_ERR_NOMEM)
			break;
		for (i = 0; i < IB_ARRAY_LEN(ops); i++)
			(void)ib_muxd_reply_check(ops[i], &m);
		ib_muxd_msg_clear(&m);
	}
	close(sv[0]);
	close(sv[1]);
}

static void
fuzz_address(const uint8_t *data, size_t size)
{
	struct ib_muxd_addr a;
	char text[700], out[700];

	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	ib_muxd_addr_parse(text, &a);
	ib_muxd_addr_format(&a, out, sizeof(out));
	if (!a.is_unix && (a.port == 0 || a.name[0] == '\0'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_listen(data, size);
	fuzz_replies(data + 1, size - 1);
	fuzz_address(data, size);
	return 0;
}
