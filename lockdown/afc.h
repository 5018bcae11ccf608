/*
 * afc.h - Apple File Conduit (com.apple.afc): the packet codec both roles
 * share, and the host client a backup needs (sync lock, the restore's
 * RestoreApplications.plist). Wire facts: lockdown.md section 7.
 *
 * Packet: a 40-byte header of little-endian u64s
 *
 *     magic "CFA6LPAA" | entire_length | this_length | packet_num | operation
 *
 * then this_length - 40 bytes of header data and entire_length -
 * this_length bytes of payload. Requests put their fixed arguments and
 * path in the header data and file contents in the payload (FileWrite);
 * the device answers STATUS / FILE_OPEN_RES with 8 bytes of header data
 * and DATA with a payload. Both libimobiledevice and pymobiledevice3 read
 * a reply as one body (header data followed by payload), so the parsers
 * here do the same: the split is kept only for caps and for re-encoding.
 *
 * The codec does no I/O: ib_afc_dec takes bytes in any chunking and
 * yields packets; ib_afc_req_encode / ib_afc_reply_encode append a
 * packet to an ib_buf; ib_afc_req_parse / ib_afc_reply_parse interpret a
 * decoded packet. Every length is checked against IB_AFC_HDATA_MAX and
 * IB_AFC_PAYLOAD_MAX (ib_limits.h) before anything is buffered.
 */
#ifndef IB_AFC_H
#define IB_AFC_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

struct ib_buf;
struct ib_conn;

#define IB_AFC_SERVICE "com.apple.afc"
#define IB_AFC_HEADER_LEN 40u
#define IB_AFC_MAGIC "CFA6LPAA"

/* Operations (LIMD src/afc.h; only those ibackup speaks are named). */
enum ib_afc_op {
	IB_AFC_OP_STATUS = 0x01,
	IB_AFC_OP_DATA = 0x02,
	IB_AFC_OP_REMOVE_PATH = 0x08,
	IB_AFC_OP_MAKE_DIR = 0x09,
	IB_AFC_OP_GET_FILE_INFO = 0x0A,
	IB_AFC_OP_FILE_OPEN = 0x0D,
	IB_AFC_OP_FILE_OPEN_RES = 0x0E,
	IB_AFC_OP_FILE_READ = 0x0F,
	IB_AFC_OP_FILE_WRITE = 0x10,
	IB_AFC_OP_FILE_TELL_RES = 0x13,
	IB_AFC_OP_FILE_CLOSE = 0x14,
	IB_AFC_OP_FILE_LOCK = 0x1B,
};

/* FileOpen modes (fopen letters): r, r+ (O_RDWR|O_CREAT), w, w+, a, a+. */
enum ib_afc_mode {
	IB_AFC_FOPEN_RDONLY = 1,
	IB_AFC_FOPEN_RW = 2,
	IB_AFC_FOPEN_WRONLY = 3,
	IB_AFC_FOPEN_WR = 4,
	IB_AFC_FOPEN_APPEND = 5,
	IB_AFC_FOPEN_RDAPPEND = 6,
};

/* FileLock operations: BSD flock bits SH 1, EX 2, NB 4, UN 8. */
#define IB_AFC_LOCK_SH_BIT 1u
#define IB_AFC_LOCK_EX_BIT 2u
#define IB_AFC_LOCK_NB_BIT 4u
#define IB_AFC_LOCK_UN_BIT 8u
#define IB_AFC_LOCK_SH (IB_AFC_LOCK_SH_BIT | IB_AFC_LOCK_NB_BIT) /* 5 */
#define IB_AFC_LOCK_EX (IB_AFC_LOCK_EX_BIT | IB_AFC_LOCK_NB_BIT) /* 6 */
#define IB_AFC_LOCK_UN (IB_AFC_LOCK_UN_BIT | IB_AFC_LOCK_NB_BIT) /* 12 */

/*
 * Status codes, the u64 of a STATUS reply (wire values 0..23).
 * libimobiledevice also defines 30..34 (MUX_ERROR, NO_MEM,
 * NOT_ENOUGH_DATA, DIR_NOT_EMPTY, SSL_ERROR) for its own failures; they
 * never travel on the wire and have no name here.
 */
enum ib_afc_status {
	IB_AFC_SUCCESS = 0,
	IB_AFC_UNKNOWN_ERROR = 1,
	IB_AFC_OP_HEADER_INVALID = 2,
	IB_AFC_NO_RESOURCES = 3,
	IB_AFC_READ_ERROR = 4,
	IB_AFC_WRITE_ERROR = 5,
	IB_AFC_UNKNOWN_PACKET_TYPE = 6,
	IB_AFC_INVALID_ARG = 7,
	IB_AFC_OBJECT_NOT_FOUND = 8,
	IB_AFC_OBJECT_IS_DIR = 9,
	IB_AFC_PERM_DENIED = 10,
	IB_AFC_SERVICE_NOT_CONNECTED = 11,
	IB_AFC_OP_TIMEOUT = 12,
	IB_AFC_TOO_MUCH_DATA = 13,
	IB_AFC_END_OF_DATA = 14,
	IB_AFC_OP_NOT_SUPPORTED = 15,
	IB_AFC_OBJECT_EXISTS = 16,
	IB_AFC_OBJECT_BUSY = 17,
	IB_AFC_NO_SPACE_LEFT = 18,
	IB_AFC_OP_WOULD_BLOCK = 19,
	IB_AFC_IO_ERROR = 20,
	IB_AFC_OP_INTERRUPTED = 21,
	IB_AFC_OP_IN_PROGRESS = 22,
	IB_AFC_INTERNAL_ERROR = 23,
};

/* "OP_WOULD_BLOCK"; "UNKNOWN" for values outside 0..23. */
const char *ib_afc_status_name(uint64_t status);
/* One sentence: "the operation would block (the lock is held)". */
const char *ib_afc_status_text(uint64_t status);
/*
 * Map a status to an ibackup error: 0 -> IB_OK, 8 -> IB_ERR_NOT_FOUND,
 * 16 -> IB_ERR_EXISTS, 19 -> IB_ERR_WOULD_BLOCK, anything else ->
 * IB_ERR_AFC; sets the error detail "AFC <what>: status N (NAME)".
 */
int ib_afc_status_err(uint64_t status, const char *what);
/* "FileOpen" for IB_AFC_OP_FILE_OPEN, "op 0x2a" for others (static
 * storage per thread). */
const char *ib_afc_op_name(uint64_t op);

/* --- packets --------------------------------------------------------- */

/*
 * A decoded packet. body points at hdata_len bytes of header data
 * followed by the payload (body_len bytes in all); borrowed from the
 * decoder until ib_afc_dec_next or ib_afc_dec_free.
 */
struct ib_afc_packet {
	uint64_t packet_num;
	uint64_t op;
	const uint8_t *body;
	size_t body_len;
	size_t hdata_len;
};

/*
 * Incremental decoder. States: reading the header, reading the body,
 * ready (a packet is complete), failed (sticky: the stream cannot be
 * resynchronised, the connection must be dropped).
 *
 * ib_afc_dec_feed consumes bytes up to the end of the current packet and
 * sets *usedp; once a packet is ready it consumes nothing until
 * ib_afc_dec_next. Header checks, made as soon as the 40 bytes are in:
 * magic (IB_ERR_AFC_PROTOCOL), this_length < 40 or entire_length <
 * this_length (IB_ERR_AFC_PROTOCOL), header data above IB_AFC_HDATA_MAX
 * or payload above IB_AFC_PAYLOAD_MAX (IB_ERR_TOO_LARGE). The detail
 * names the field.
 */
struct ib_afc_dec;

int ib_afc_dec_new(struct ib_afc_dec **decp);
void ib_afc_dec_free(struct ib_afc_dec *dec);
int ib_afc_dec_feed(struct ib_afc_dec *dec, const void *p, size_t n, size_t *usedp);
/* Bytes the current packet still needs (0 when ready or failed): a
 * blocking reader may read exactly this many and never over-read. */
size_t ib_afc_dec_need(const struct ib_afc_dec *dec);
/* The ready packet (borrowed), or IB_ERR_INCOMPLETE / the sticky error. */
int ib_afc_dec_packet(const struct ib_afc_dec *dec, struct ib_afc_packet *pktp);
/* Drop the ready packet and start on the next one. */
void ib_afc_dec_next(struct ib_afc_dec *dec);

/*
 * Append one packet. hdata_len must be at most IB_AFC_HDATA_MAX and
 * payload_len at most IB_AFC_PAYLOAD_MAX (IB_ERR_TOO_LARGE otherwise,
 * nothing appended).
 */
int ib_afc_encode(struct ib_buf *out, uint64_t packet_num, uint64_t op,
    const void *hdata, size_t hdata_len, const void *payload, size_t payload_len);

/*
 * A request, as the host builds it and the device reads it. Which
 * fields an operation uses:
 *   FileOpen     arg = mode, path
 *   FileRead     handle, arg = length
 *   FileWrite    handle, data/len (the payload)
 *   FileClose    handle
 *   FileLock     handle, arg = lock operation
 *   RemovePath, MakeDir, GetFileInfo   path
 * Other operations carry their body in data/len untouched.
 */
struct ib_afc_req {
	uint64_t op;
	uint64_t handle;
	uint64_t arg;
	const char *path;
	const uint8_t *data;
	size_t len;
};

int ib_afc_req_encode(struct ib_buf *out, uint64_t packet_num, const struct ib_afc_req *req);
/*
 * Device side: read a request out of a decoded packet (pointers borrow
 * from it). Fixed fields must be all there and a path must end at the
 * end of the body with a single NUL, be non-empty and at most
 * IB_PATH_MAX bytes: IB_ERR_AFC_PROTOCOL otherwise (the device answers
 * INVALID_ARG).
 */
int ib_afc_req_parse(const struct ib_afc_packet *pkt, struct ib_afc_req *req);

/*
 * A reply. STATUS: value = status; FILE_OPEN_RES: value = handle;
 * FILE_TELL_RES: value = position; DATA: data/len.
 */
struct ib_afc_reply {
	uint64_t op;
	uint64_t value;
	const uint8_t *data;
	size_t len;
};

int ib_afc_reply_encode(struct ib_buf *out, uint64_t packet_num, const struct ib_afc_reply *rep);
/*
 * Host side: check the packet_num echo and interpret the body. STATUS,
 * FILE_OPEN_RES and FILE_TELL_RES need exactly 8 bytes; any other
 * operation is refused. All failures are IB_ERR_AFC_PROTOCOL.
 */
int ib_afc_reply_parse(const struct ib_afc_packet *pkt, uint64_t want_num,
    struct ib_afc_reply *rep);

/*
 * A GetFileInfo answer: NUL-terminated key and value strings in turn.
 * *infop is a dict with decimal values as uint and the rest as strings
 * (caller plist_free()s). An odd count, an empty or unterminated string,
 * one above IB_PATH_MAX, more than IB_AFC_INFO_KEYS_MAX keys:
 * IB_ERR_AFC_PROTOCOL.
 */
int ib_afc_info_parse(const uint8_t *p, size_t n, plist_t *infop);

/*
 * Read one whole packet from conn into dec (after ib_afc_dec_next), never
 * past its end. Errors are the connection's or the decoder's; either
 * way the stream is lost. Used by the host client and the virtual
 * device alike.
 */
int ib_afc_recv_packet(struct ib_conn *conn, struct ib_afc_dec *dec);

/* --- host client ------------------------------------------------------ */

/*
 * One AFC connection. Calls are serialised by the caller (one request in
 * flight); a transport or protocol error leaves the client unusable and
 * every later call fails with that error.
 *
 * A call whose device answered a non-zero status returns the mapping of
 * ib_afc_status_err(); ib_afc_last_status() then gives the raw code.
 */
struct ib_afc;

/* Take over conn (freed by ib_afc_free, also on failure of this call). */
int ib_afc_new(struct ib_conn *conn, struct ib_afc **afcp);
void ib_afc_free(struct ib_afc *afc);
/* Receive timeout per reply (default IB_AFC_REPLY_TIMEOUT_MS). */
void ib_afc_set_timeout(struct ib_afc *afc, unsigned ms);
uint64_t ib_afc_last_status(const struct ib_afc *afc);

int ib_afc_file_open(struct ib_afc *afc, const char *path, enum ib_afc_mode mode,
    uint64_t *handlep);
int ib_afc_file_close(struct ib_afc *afc, uint64_t handle);
int ib_afc_file_lock(struct ib_afc *afc, uint64_t handle, uint64_t lock_op);
/* Read up to n bytes at the file position; *gotp < n only at the end. */
int ib_afc_file_read(struct ib_afc *afc, uint64_t handle, void *p, size_t n, size_t *gotp);
/* Write all n bytes, IB_AFC_IO_CHUNK per packet. */
int ib_afc_file_write(struct ib_afc *afc, uint64_t handle, const void *p, size_t n);
int ib_afc_remove_path(struct ib_afc *afc, const char *path);
/* Creates missing parents too (what the device does); an existing
 * directory is not an error. */
int ib_afc_make_dir(struct ib_afc *afc, const char *path);
/*
 * File information as a dict: numeric values (st_size, st_nlink,
 * st_mtime, ...) as uint, the others (st_ifmt "S_IFREG"/"S_IFDIR", ...)
 * as strings. A missing path gives IB_ERR_NOT_FOUND.
 */
int ib_afc_get_file_info(struct ib_afc *afc, const char *path, plist_t *infop);

/* --- the sync lock ----------------------------------------------------- */

#define IB_AFC_SYNC_LOCK_PATH "/com.apple.itunes.lock_sync"
/* idevicebackup2 and pymobiledevice3: 50 tries, 200 ms apart. */
#define IB_AFC_LOCK_ATTEMPTS 50u
#define IB_AFC_LOCK_DELAY_MS 200u
#define IB_AFC_REPLY_TIMEOUT_MS 30000u

/*
 * Take the device's sync lock. The full sequence around a backup or
 * restore, with the notification posts that are the caller's job
 * (np.h; idevicebackup2 posts each through its own short connection):
 *
 *   post  com.apple.itunes-mobdev.syncWillStart
 *   ib_afc_sync_lock():  FileOpen(IB_AFC_SYNC_LOCK_PATH, r+) ...
 *   post  com.apple.itunes-mobdev.syncLockRequest   (lock_requested below)
 *         ... FileLock(EX|NB) until it succeeds
 *   post  com.apple.itunes-mobdev.syncDidStart
 *   ... backup or restore ...
 *   ib_afc_sync_unlock():  FileLock(UN|NB), FileClose
 *   post  com.apple.itunes-mobdev.syncDidFinish
 *
 * Because syncLockRequest goes between the open and the first lock
 * attempt, ib_afc_sync_lock calls lock_requested(arg) there (may be
 * NULL; a non-zero return aborts with that error after closing the
 * file).
 *
 * FileLock is retried only on status 19 (OP_WOULD_BLOCK), after
 * IB_AFC_LOCK_DELAY_MS, at most IB_AFC_LOCK_ATTEMPTS times in all; then
 * IB_ERR_AFC_LOCK_TIMEOUT. Any other status closes the file and returns
 * its error. The process interrupt flag (ib_interrupted) ends the wait
 * with IB_ERR_INTERRUPTED. On success *handlep is the open lock file.
 */
typedef int (*ib_afc_lock_requested_fn)(void *arg);

int ib_afc_sync_lock(struct ib_afc *afc, ib_afc_lock_requested_fn lock_requested,
    void *arg, uint64_t *handlep);
/* Same with the retry policy as parameters (tests shorten the delay);
 * *attemptsp (may be NULL) receives the number of FileLock requests
 * made, also when the call fails (for logs and tests). */
int ib_afc_sync_lock_ex(struct ib_afc *afc, unsigned attempts, unsigned delay_ms,
    ib_afc_lock_requested_fn lock_requested, void *arg, uint64_t *handlep,
    unsigned *attemptsp);
/* Unlock and close; both are attempted, the first error is returned. */
int ib_afc_sync_unlock(struct ib_afc *afc, uint64_t handle);

#endif /* IB_AFC_H */
