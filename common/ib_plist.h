/*
 * ib_plist.h - the only way ibackup turns untrusted bytes into property
 * lists and back.
 *
 * libplist 2.2.0 (Debian 12) has no signed integers, reports no parse
 * errors from plist_from_memory, and parses recursively, so this wrapper:
 *   - caps the input size before parsing (caller-given maximum, itself at
 *     most IB_PLIST_MSG_MAX);
 *   - scans the input for nesting depth and object count before handing
 *     it to libplist (IB_PLIST_DEPTH_MAX, IB_PLIST_NODES_MAX), so deep or
 *     self-referencing input never reaches libplist's recursion;
 *   - turns raw control characters in XML into spaces (iOS >= 4.3 sends
 *     them; lockdown.md section 1);
 *   - offers typed getters that check the node type and never return a
 *     value of the wrong type;
 *   - reads integers as signed where the protocol means signed (a uint64
 *     of 2^63 or more is a negative number written by a peer that has no
 *     signed type), and writes negative integers as 8-byte signed binary
 *     integers (what Apple's peers expect): ib_plist_to_bin is ibackup's
 *     own writer (ib_plist_bin.c), because libplist writes such a value
 *     as a 16-byte unsigned in 2.3+ and in 2.2 for parsed nodes.
 *
 * Ownership: getters return borrowed pointers into the plist (valid while
 * the plist lives and is not modified); ib_plist_parse and the
 * serialisers return owned memory that the caller frees with plist_free()
 * or free().
 */
#ifndef IB_PLIST_H
#define IB_PLIST_H

#include <stddef.h>
#include <stdint.h>

#include <plist/plist.h>

/* Parse binary or XML. max_len caps len (IB_ERR_TOO_LARGE beyond it). */
int ib_plist_parse(const void *data, size_t len, size_t max_len, plist_t *outp);
/* Same, and require a dict (IB_ERR_PLIST_TYPE otherwise). */
int ib_plist_parse_dict(const void *data, size_t len, size_t max_len, plist_t *outp);

/* Serialise. Output is malloc'd; free with free(). XML output is not NUL
 * terminated in *lenp but a NUL follows it in memory. */
int ib_plist_to_xml(plist_t p, char **outp, size_t *lenp);
int ib_plist_to_bin(plist_t p, uint8_t **outp, size_t *lenp);

/* Signed integer node (see above for the encoding). */
plist_t ib_plist_new_int(int64_t v);
/* Date node from Unix seconds (libplist 2.2 counts from 2001-01-01). */
plist_t ib_plist_new_date_unix(int64_t secs);

/*
 * Typed accessors. Each returns IB_OK, IB_ERR_PLIST_MISSING (no such key
 * or index, or node NULL) or IB_ERR_PLIST_TYPE; outputs are zeroed on
 * failure. Strings are rejected with IB_ERR_PLIST_TYPE if they contain a
 * NUL byte before their recorded length.
 */
int ib_plist_get_string(plist_t node, const char **sp);
int ib_plist_get_uint(plist_t node, uint64_t *vp);
int ib_plist_get_int(plist_t node, int64_t *vp);
int ib_plist_get_bool(plist_t node, int *vp);
int ib_plist_get_real(plist_t node, double *vp);
int ib_plist_get_data(plist_t node, const uint8_t **pp, size_t *lenp);
int ib_plist_get_date_unix(plist_t node, int64_t *secsp);

int ib_plist_dict_get_string(plist_t dict, const char *key, const char **sp);
int ib_plist_dict_get_uint(plist_t dict, const char *key, uint64_t *vp);
int ib_plist_dict_get_int(plist_t dict, const char *key, int64_t *vp);
int ib_plist_dict_get_bool(plist_t dict, const char *key, int *vp);
int ib_plist_dict_get_real(plist_t dict, const char *key, double *vp);
int ib_plist_dict_get_data(plist_t dict, const char *key, const uint8_t **pp, size_t *lenp);
int ib_plist_dict_get_date_unix(plist_t dict, const char *key, int64_t *secsp);
/* Borrowed child container of the given type. */
int ib_plist_dict_get_dict(plist_t dict, const char *key, plist_t *vp);
int ib_plist_dict_get_array(plist_t dict, const char *key, plist_t *vp);

int ib_plist_array_get_string(plist_t array, uint32_t idx, const char **sp);
int ib_plist_array_get_uint(plist_t array, uint32_t idx, uint64_t *vp);
int ib_plist_array_get_int(plist_t array, uint32_t idx, int64_t *vp);
int ib_plist_array_get_real(plist_t array, uint32_t idx, double *vp);
int ib_plist_array_get_dict(plist_t array, uint32_t idx, plist_t *vp);
int ib_plist_array_get_array(plist_t array, uint32_t idx, plist_t *vp);

/* Is node a dict / array (NULL-safe)? */
int ib_plist_is_dict(plist_t node);
int ib_plist_is_array(plist_t node);

/*
 * Log a plist at TRACE level as XML, with the values of secret keys
 * replaced by "<redacted N bytes>": HostPrivateKey, RootPrivateKey,
 * EscrowBag, PairRecordData, Password, NewPassword, OldPassword,
 * BackupKeyBag, ManifestKey, EncryptionKey, PairingChallenge,
 * ChallengeResponse, and any key ending in "PrivateKey" or "Password".
 */
void ib_plist_log(const char *func, const char *what, plist_t p);
/* Is key one of the secret keys above? */
int ib_plist_key_is_secret(const char *key);

#endif /* IB_PLIST_H */
