/*
 * dl_file.h - the raw file-transfer sub-protocol inside DLMessageUploadFiles
 * (device -> host) and DLMessageDownloadFiles (host -> device),
 * mobilebackup2.md section 4. No I/O, bounded memory: files stream
 * through in chunks and are never held whole.
 *
 * Wire format (all integers u32 big-endian):
 *   per file:  name(s): u32 len + bytes   (upload: device path, host path;
 *                                          download: the requested path)
 *              chunks:  u32 n, u8 code, n-1 bytes   (n counts the code)
 *                 0x0C data; 0x00 with n == 1 = file done;
 *                 any other code = this file failed, bytes = error text
 *   end:       u32 0 where the next (first) name length would be
 *
 * Decoder
 *   ib_dlf_decoder_new(mode) then feed bytes in any chunking with
 *   ib_dlf_decoder_feed(); it calls the event callback synchronously:
 *     FILE_BEGIN  name (download) or device_path + host_path (upload),
 *                 NUL-terminated, valid during the callback only;
 *     DATA        data/len: a piece of the file, pointing into the fed
 *                 bytes or a small internal buffer (valid during the
 *                 callback only); a chunk may arrive as several DATA events;
 *     FILE_OK     the file ended with the success chunk;
 *     FILE_ERROR  the file ended with an error chunk: code (0x06 = the
 *                 sender could not read it, 0x0B = I/O error ...) and text
 *                 (first IB_DL_TEXT_MAX bytes, NUL-terminated, sanitised);
 *                 the receiver should discard what it wrote so far;
 *     DONE        the end-of-transfer marker.
 *   The callback returns IB_OK to continue or an IB_ERR_* to stop: feed()
 *   returns that error. After DONE the decoder consumes nothing more:
 *   *usedp tells how many bytes of the last feed belonged to the
 *   transfer, the rest is the next DL message.
 *   Errors: IB_ERR_TOO_LARGE (a name above IB_PATH_MAX, a chunk above
 *   IB_DL_CHUNK_MAX), IB_ERR_DL_PROTOCOL (chunk length 0, success chunk
 *   with payload, empty name, NUL in a name), IB_ERR_STATE (feed after an
 *   error). A failed decoder stays failed.
 *   ib_dlf_decoder_finished() says whether DONE was seen; a stream that
 *   ends before it is truncated (the caller reports IB_ERR_EOF).
 *
 * Encoder
 *   Appends frames to a caller's ib_buf (cap it at a few chunks and flush
 *   it to the socket between calls). put_data splits into IB_DL_CHUNK
 *   chunks; the caller keeps the per-file order begin, data..., ok|error
 *   and ends with done. Errors: IB_ERR_TOO_LARGE from the buffer cap (no
 *   partial frame is left behind), IB_ERR_INVALID_ARG for a name above
 *   IB_PATH_MAX or an error code of 0x00 / 0x0C.
 */
#ifndef IB_DL_FILE_H
#define IB_DL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "ib_buf.h"

/* Chunk codes (section 4). */
#define IB_DLF_CODE_SUCCESS 0x00
#define IB_DLF_CODE_LOCAL_ERROR 0x06    /* the sender could not read the file */
#define IB_DLF_CODE_REMOTE_ERROR 0x0B   /* I/O error on the sending side */
#define IB_DLF_CODE_DATA 0x0C

enum ib_dlf_mode {
	IB_DLF_UPLOAD,          /* device -> host: two names per file */
	IB_DLF_DOWNLOAD,        /* host -> device: one name per file */
};

enum ib_dlf_event_kind {
	IB_DLF_FILE_BEGIN,
	IB_DLF_DATA,
	IB_DLF_FILE_OK,
	IB_DLF_FILE_ERROR,
	IB_DLF_DONE,
};

struct ib_dlf_event {
	enum ib_dlf_event_kind kind;
	const char *device_path;        /* upload: first name */
	const char *path;               /* upload: host path; download: the name */
	const uint8_t *data;            /* DATA */
	size_t len;
	uint8_t code;                   /* FILE_ERROR */
	const char *text;               /* FILE_ERROR */
};

typedef int (*ib_dlf_event_fn)(void *ctx, const struct ib_dlf_event *ev);

struct ib_dlf_decoder;

struct ib_dlf_decoder *ib_dlf_decoder_new(enum ib_dlf_mode mode, ib_dlf_event_fn fn,
    void *ctx);
void ib_dlf_decoder_free(struct ib_dlf_decoder *d);
int ib_dlf_decoder_feed(struct ib_dlf_decoder *d, const uint8_t *in, size_t len,
    size_t *usedp);
int ib_dlf_decoder_finished(const struct ib_dlf_decoder *d);
/* Files that ended (ok or error) so far. */
uint64_t ib_dlf_decoder_files(const struct ib_dlf_decoder *d);

/* Encoder. begin: upload takes device_path + path; download: device_path
 * must be NULL and path is the requested name. */
int ib_dlf_put_file_begin(struct ib_buf *out, const char *device_path, const char *path);
int ib_dlf_put_data(struct ib_buf *out, const void *p, size_t n);
int ib_dlf_put_file_ok(struct ib_buf *out);
int ib_dlf_put_file_error(struct ib_buf *out, uint8_t code, const char *text);
int ib_dlf_put_done(struct ib_buf *out);

#endif /* IB_DL_FILE_H */
