/*
 * usbmux_stub.c - weak stand-ins for the ib_usbmux.h functions the
 * lockdown library references, so its unit tests and fuzz harnesses link
 * before (and without) the usbmux runtime. They never run: tests dial
 * through ld_testnet. Where the real functions are linked in, they win.
 */
#include "ib_err.h"
#include "ib_usbmux.h"

#define WEAK __attribute__((weak))

WEAK int ib_usbmux_select(struct ib_usbmux *m, const char *udid, struct ib_device *outp)
{ (void)m; (void)udid; (void)outp; return IB_ERR_UNSUPPORTED; }
WEAK int ib_usbmux_connect(struct ib_usbmux *m, const char *udid, uint16_t port, struct ib_stream **sp)
{ (void)m; (void)udid; (void)port; *sp = NULL; return IB_ERR_UNSUPPORTED; }
WEAK int ib_stream_fd(const struct ib_stream *s) { (void)s; return -1; }
WEAK int ib_stream_error(const struct ib_stream *s) { (void)s; return IB_ERR_UNSUPPORTED; }
WEAK const char *ib_stream_error_text(const struct ib_stream *s) { (void)s; return ""; }
WEAK void ib_stream_close(struct ib_stream *s) { (void)s; }
WEAK int ib_usbmux_read_pair_record(struct ib_usbmux *m, const char *udid, uint8_t **datap, size_t *lenp)
{ (void)m; (void)udid; *datap = NULL; *lenp = 0; return IB_ERR_UNSUPPORTED; }
WEAK int ib_usbmux_save_pair_record(struct ib_usbmux *m, const char *udid, const uint8_t *data, size_t len)
{ (void)m; (void)udid; (void)data; (void)len; return IB_ERR_UNSUPPORTED; }
WEAK int ib_usbmux_delete_pair_record(struct ib_usbmux *m, const char *udid)
{ (void)m; (void)udid; return IB_ERR_UNSUPPORTED; }
WEAK int ib_usbmux_read_buid(struct ib_usbmux *m, char **buidp)
{ (void)m; *buidp = NULL; return IB_ERR_UNSUPPORTED; }
