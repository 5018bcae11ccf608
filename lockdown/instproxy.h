/*
 * instproxy.h - installation_proxy (com.apple.mobile.installation_proxy):
 * the Browse exchange a backup uses to list user apps for Info.plist,
 * as a codec both roles share and a host call.
 *
 * Exchange (ld_msg-framed plist dicts):
 *   host   {Command: Browse, ClientOptions: {ApplicationType: "User",
 *           ReturnAttributes: [CFBundleIdentifier, ApplicationSINF,
 *           iTunesMetadata, ...]}}
 *   device {Status: BrowsingApplications, CurrentIndex, CurrentAmount,
 *           CurrentList: [app dicts], Total}   one per page
 *   device {Status: Complete}
 * An {Error, ErrorDescription} dict reports a failure.
 *
 * Sources disagree on Total: libimobiledevice reads it when present, a
 * decompiled iOS installd builds pages of 10 with Status, CurrentIndex,
 * CurrentAmount and CurrentList only, and go-ios places each page at its
 * CurrentIndex. So the host checks every counter that is present and
 * needs none of them: CurrentAmount must match the page, CurrentIndex
 * the number of apps received before it, Total must not change and must
 * equal the count at Complete.
 */
#ifndef IB_INSTPROXY_H
#define IB_INSTPROXY_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

struct ib_conn;

#define IB_INSTPROXY_SERVICE "com.apple.mobile.installation_proxy"
/* Apps per page on a real device (decompiled installd). */
#define IB_INSTPROXY_PAGE 10u

/*
 * {Command: Browse, ClientOptions: {ApplicationType: app_type,
 * ReturnAttributes: attrs}}. app_type NULL leaves it out ("Any" on the
 * device); attrs is NULL-terminated, NULL for all attributes.
 */
int ib_instproxy_browse_request(const char *app_type, const char *const *attrs,
    plist_t *msgp);

/*
 * Host side: reassemble a Browse answer, one message at a time.
 * ib_instproxy_browse_feed takes a received message (borrowed) and its
 * size on the wire (counted against IB_INSTPROXY_BYTES_MAX); *donep
 * becomes 1 after Complete. Errors: IB_ERR_SERVICE (Error key, missing
 * Status, counters that disagree, duplicate bundle id; detail says
 * which), IB_ERR_PLIST_TYPE / IB_ERR_PLIST_MISSING (an app that is not a
 * dict or lacks a string CFBundleIdentifier), IB_ERR_TOO_LARGE (more
 * than IB_INSTPROXY_APPS_MAX apps or IB_INSTPROXY_BYTES_MAX bytes),
 * IB_ERR_STATE (fed after Complete).
 */
struct ib_instproxy_browse;

int ib_instproxy_browse_new(struct ib_instproxy_browse **bp);
void ib_instproxy_browse_free(struct ib_instproxy_browse *b);
int ib_instproxy_browse_feed(struct ib_instproxy_browse *b, plist_t msg,
    size_t wire_bytes, int *donep);
/* After Complete: the apps, a dict bundle id -> attributes dict in the
 * device's order; the caller owns it. */
int ib_instproxy_browse_take(struct ib_instproxy_browse *b, plist_t *appsp);

/*
 * Device side. ib_instproxy_request_parse reads a request: *commandp
 * and *optionsp (the ClientOptions dict or NULL) borrow from msg.
 * ib_instproxy_page_build copies count apps of the array apps from
 * index first into a BrowsingApplications message; total is included
 * when with_total is set.
 */
int ib_instproxy_request_parse(plist_t msg, const char **commandp, plist_t *optionsp);
int ib_instproxy_page_build(plist_t apps, uint32_t first, uint32_t count,
    int with_total, plist_t *msgp);
int ib_instproxy_status_build(const char *status, plist_t *msgp);
int ib_instproxy_error_build(const char *error, const char *description, plist_t *msgp);

/*
 * Host call: send Browse on conn and reassemble the answer (conn stays
 * the caller's). Each message must arrive within timeout_ms.
 */
int ib_instproxy_browse(struct ib_conn *conn, const char *app_type,
    const char *const *attrs, unsigned timeout_ms, plist_t *appsp);

#endif /* IB_INSTPROXY_H */
