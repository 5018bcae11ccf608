/*
 * The virtual device's socket protocol: message framing under any
 * chunking, caps, replies, device descriptions and their validation.
 */
#include "ib_buf.h"
#include "ib_limits.h"
#include "ib_plist.h"
#include "ib_test.h"
#include "sim_proto.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
sample_dev(struct ib_sim_devinfo *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->udid, sizeof(d->udid), "00008110-001A2B3C4D5E6F70");
	snprintf(d->usb_serial, sizeof(d->usb_serial), "00008110001A2B3C4D5E6F70");
	d->product_id = 0x12a8;
	d->location = 0x10002;
	d->speed_bps = 480000000;
	snprintf(d->product_type, sizeof(d->product_type), "iPhone14,5");
	snprintf(d->product_version, sizeof(d->product_version), "17.5");
	snprintf(d->build_version, sizeof(d->build_version), "21F79");
	snprintf(d->device_name, sizeof(d->device_name), "Virtual iPhone 1");
}

IB_TEST(sim_msg_round_trips_byte_at_a_time)
{
	struct ib_sim_devinfo d, back;
	plist_t msg = ib_sim_reply_ok(), arr = plist_new_array(), got = NULL;
	struct ib_buf in;
	uint8_t *enc = NULL;
	size_t len, i;
	struct ib_sim_devinfo *list = NULL;
	size_t n;

	sample_dev(&d);
	plist_array_append_item(arr, ib_sim_devinfo_to_plist(&d));
	plist_dict_set_item(msg, "Devices", arr);
	IB_CHECK_OK(ib_sim_msg_encode(msg, &enc, &len));
	IB_CHECK(len > 4 && enc[0] == 0 && (size_t)((enc[2] << 8) | enc[3]) == len - 4);
	ib_buf_init(&in, IB_SIM_MSG_MAX + 4);
	for (i = 0; i < len; i++) {
		IB_CHECK_ERR(ib_sim_msg_take(&in, &got), IB_ERR_INCOMPLETE);
		IB_CHECK_EQ(ib_buf_len(&in), i);
		IB_CHECK_OK(ib_buf_put(&in, enc + i, 1));
	}
	IB_CHECK_OK(ib_sim_msg_take(&in, &got));
	IB_CHECK_EQ(ib_buf_len(&in), 0);
	IB_CHECK_OK(ib_sim_reply_status(got));
	IB_CHECK_OK(ib_sim_devinfo_list(got, &list, &n));
	IB_CHECK_EQ(n, 1);
	back = list[0];
	IB_CHECK(memcmp(&back, &d, sizeof(d)) == 0);
	free(list);
	plist_free(got);
	plist_free(msg);
	free(enc);
	ib_buf_free(&in);
}

IB_TEST(sim_msg_refuses_oversized_and_non_dict)
{
	static const uint8_t huge[] = { 0x00, 0x04, 0x00, 0x01 };      /* 256 KiB + 1 */
	static const char arr[] = "<plist><array/></plist>";
	static const char junk[] = "not a plist at all";
	uint8_t msg[4 + sizeof(arr)];
	struct ib_buf in;
	plist_t got = NULL;

	ib_buf_init_ro(&in, huge, sizeof(huge));
	IB_CHECK_ERR(ib_sim_msg_take(&in, &got), IB_ERR_TOO_LARGE);
	msg[0] = msg[1] = msg[2] = 0;
	msg[3] = (uint8_t)(sizeof(arr) - 1);
	memcpy(msg + 4, arr, sizeof(arr) - 1);
	ib_buf_init_ro(&in, msg, 4 + sizeof(arr) - 1);
	IB_CHECK_ERR(ib_sim_msg_take(&in, &got), IB_ERR_PLIST_TYPE);
	msg[3] = (uint8_t)(sizeof(junk) - 1);
	memcpy(msg + 4, junk, sizeof(junk) - 1);
	ib_buf_init_ro(&in, msg, 4 + sizeof(junk) - 1);
	IB_CHECK(ib_sim_msg_take(&in, &got) != IB_OK);
	IB_CHECK(got == NULL);
}

IB_TEST(sim_msg_recv_reads_exactly_one_message)
{
	plist_t a = ib_sim_reply_ok(), got = NULL;
	uint8_t after[4];
	int sv[2];

	IB_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	IB_CHECK_OK(ib_sim_msg_send(sv[0], a, 1000));
	/* The raw mux stream that follows an Attach reply must stay unread. */
	IB_CHECK(send(sv[0], "\0\0\0\0", 4, 0) == 4);
	IB_CHECK_OK(ib_sim_msg_recv(sv[1], 1000, &got));
	IB_CHECK_OK(ib_sim_reply_status(got));
	IB_CHECK(recv(sv[1], after, sizeof(after), MSG_DONTWAIT) == 4);
	close(sv[0]);
	plist_free(got);
	got = NULL;
	IB_CHECK_ERR(ib_sim_msg_recv(sv[1], 1000, &got), IB_ERR_EOF);
	close(sv[1]);
	plist_free(a);
}

IB_TEST(sim_msg_recv_times_out_on_a_partial_message)
{
	plist_t got = NULL;
	int sv[2];

	IB_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	IB_CHECK(send(sv[0], "\0\0\0\x10<pl", 7, 0) == 7);
	IB_CHECK_ERR(ib_sim_msg_recv(sv[1], 50, &got), IB_ERR_TIMEOUT);
	close(sv[0]);
	close(sv[1]);
}

IB_TEST(sim_reply_carries_the_error)
{
	plist_t e = ib_sim_reply_error(IB_ERR_DEVICE_AMBIGUOUS, "2 devices"), bad;

	IB_CHECK_ERR(ib_sim_reply_status(e), IB_ERR_DEVICE_AMBIGUOUS);
	IB_CHECK(strstr(ib_err_detail(), "2 devices") != NULL);
	plist_free(e);
	bad = plist_new_dict();
	plist_dict_set_item(bad, "Status", plist_new_string("Maybe"));
	IB_CHECK_ERR(ib_sim_reply_status(bad), IB_ERR_FORMAT);
	plist_dict_set_item(bad, "Status", plist_new_string("Error"));
	IB_CHECK_ERR(ib_sim_reply_status(bad), IB_ERR_PLIST_MISSING);
	plist_dict_set_item(bad, "Code", plist_new_uint(0));
	IB_CHECK_ERR(ib_sim_reply_status(bad), IB_ERR_FORMAT);
	plist_dict_set_item(bad, "Code", plist_new_uint(100000));
	IB_CHECK_ERR(ib_sim_reply_status(bad), IB_ERR_FORMAT);
	plist_dict_set_item(bad, "Code", plist_new_string("3"));
	IB_CHECK_ERR(ib_sim_reply_status(bad), IB_ERR_PLIST_TYPE);
	plist_free(bad);
	bad = plist_new_dict();
	IB_CHECK_ERR(ib_sim_reply_status(bad), IB_ERR_PLIST_MISSING);
	plist_free(bad);
}

IB_TEST(sim_devinfo_validates_every_field)
{
	struct ib_sim_devinfo d, out;
	char longname[200];
	plist_t p;

	sample_dev(&d);
	p = ib_sim_devinfo_to_plist(&d);
	plist_dict_remove_item(p, "UDID");
	IB_CHECK_ERR(ib_sim_devinfo_from_plist(p, &out), IB_ERR_PLIST_MISSING);
	plist_dict_set_item(p, "UDID", plist_new_uint(5));
	IB_CHECK_ERR(ib_sim_devinfo_from_plist(p, &out), IB_ERR_PLIST_TYPE);
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	plist_dict_set_item(p, "UDID", plist_new_string(longname));
	IB_CHECK_ERR(ib_sim_devinfo_from_plist(p, &out), IB_ERR_TOO_LARGE);
	plist_dict_set_item(p, "UDID", plist_new_string(""));
	IB_CHECK_ERR(ib_sim_devinfo_from_plist(p, &out), IB_ERR_FORMAT);
	plist_dict_set_item(p, "UDID", plist_new_string(d.udid));
	plist_dict_set_item(p, "ProductID", plist_new_uint(0x10000));
	IB_CHECK_ERR(ib_sim_devinfo_from_plist(p, &out), IB_ERR_FORMAT);
	plist_dict_set_item(p, "ProductID", plist_new_uint(0x12a8));
	IB_CHECK_OK(ib_sim_devinfo_from_plist(p, &out));
	IB_CHECK_STR(out.udid, d.udid);
	plist_free(p);
}

IB_TEST(sim_devinfo_list_is_capped)
{
	struct ib_sim_devinfo d, *list = NULL;
	plist_t r = ib_sim_reply_ok(), arr = plist_new_array();
	size_t i, n;

	sample_dev(&d);
	for (i = 0; i <= IB_SIM_MAX_DEVICES; i++)
		plist_array_append_item(arr, ib_sim_devinfo_to_plist(&d));
	plist_dict_set_item(r, "Devices", arr);
	IB_CHECK_ERR(ib_sim_devinfo_list(r, &list, &n), IB_ERR_PLIST_TOO_MANY);
	IB_CHECK(list == NULL);
	plist_free(r);
	r = ib_sim_reply_ok();
	arr = plist_new_array();
	plist_array_append_item(arr, plist_new_string("not a dict"));
	plist_dict_set_item(r, "Devices", arr);
	IB_CHECK_ERR(ib_sim_devinfo_list(r, &list, &n), IB_ERR_PLIST_TYPE);
	plist_free(r);
}

int
main(int argc, char **argv)
{
	return ib_test_main(argc, argv);
}
