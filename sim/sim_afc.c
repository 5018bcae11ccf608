/*
 * sim_afc.c - the virtual device's AFC service: an in-memory file tree
 * and flock-like locks shared by all connections of one device.
 *
 * Paths are normalised (leading and repeated '/' and "." dropped; ".."
 * refused) and stored flat; the root is "". Locks follow flock: a lock
 * belongs to the handle that took it, EX excludes every other handle, SH
 * excludes EX, closing the handle (or dropping the connection) releases
 * it. The sim never blocks a connection thread: a request without the NB
 * bit is answered like one with it (every known host sends NB).
 *
 * Statuses follow what hosts expect (lockdown.md section 7; LIMD
 * afc_remove_path reads UNKNOWN_ERROR as "directory not empty").
 */
#include "sim_services_int.h"
#include "afc.h"
#include "ib_buf.h"
#include "ib_err.h"
#include "ib_limits.h"
#include "ib_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vnode {
	struct vnode *next;
	char *path;             /* normalised, "" is the root */
	int is_dir;
	uint8_t *data;
	size_t len;
	uint64_t mtime_ns;
	uint64_t birth_ns;
	unsigned opens;         /* handles open on it */
	struct handle *ex;      /* exclusive lock holder */
	unsigned shared;        /* shared lock holders */
};

struct handle {
	struct handle *next;
	uint64_t id;
	struct sim_afc_session *owner;
	struct vnode *node;
	int can_read, can_write, append;
	size_t pos;
	int lock;               /* 0, IB_AFC_LOCK_SH_BIT or IB_AFC_LOCK_EX_BIT */
};

struct sim_afc {
	pthread_mutex_t mu;
	struct sim_afc_cfg cfg;
	struct vnode *nodes;
	unsigned nnodes;
	size_t bytes;
	struct handle *handles;
	uint64_t next_handle;
	uint64_t lock_attempts;
};

struct sim_afc_session {
	struct sim_afc *afc;
};

/* --- paths and nodes ------------------------------------------------------- */

/* Normalise into a malloc'd string; NULL for ".." or no memory. */
static char *
norm_path(const char *path)
{
	size_t n = strlen(path), i = 0, o = 0, seg;
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	while (i < n) {
		while (i < n && path[i] == '/')
			i++;
		for (seg = 0; i + seg < n && path[i + seg] != '/'; seg++)
			;
		if (seg == 0 || (seg == 1 && path[i] == '.')) {
			i += seg;
			continue;
		}
		if (seg == 2 && path[i] == '.' && path[i + 1] == '.') {
			free(out);
			return NULL;
		}
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, path + i, seg);
		o += seg;
		i += seg;
	}
	out[o] = '\0';
	return out;
}

static struct vnode *
find(struct sim_afc *afc, const char *np)
{
	struct vnode *v;

	for (v = afc->nodes; v != NULL; v = v->next)
		if (strcmp(v->path, np) == 0)
			return v;
	return NULL;
}

/* The parent directory of a normalised path (the root for top level). */
static struct vnode *
find_parent(struct sim_afc *afc, const char *np)
{
	const char *slash = strrchr(np, '/');
	struct vnode *v;
	size_t n;

	if (slash == NULL)
		return find(afc, "");
	n = (size_t)(slash - np);
	for (v = afc->nodes; v != NULL; v = v->next)
		if (strlen(v->path) == n && memcmp(v->path, np, n) == 0)
			return v;
	return NULL;
}

/* The node a host-given path names (lock held): PERM_DENIED for a path
 * that climbs out, OBJECT_NOT_FOUND. */
static uint64_t
lookup(struct sim_afc *afc, const char *path, struct vnode **vp)
{
	char *np = norm_path(path);

	*vp = NULL;
	if (np == NULL)
		return IB_AFC_PERM_DENIED;
	*vp = find(afc, np);
	free(np);
	return *vp != NULL ? IB_AFC_SUCCESS : IB_AFC_OBJECT_NOT_FOUND;
}

static int
has_children(struct sim_afc *afc, const struct vnode *dir)
{
	size_t n = strlen(dir->path);
	struct vnode *v;

	for (v = afc->nodes; v != NULL; v = v->next) {
		if (v == dir)
			continue;
		if (n == 0 || (strncmp(v->path, dir->path, n) == 0 && v->path[n] == '/'))
			return 1;
	}
	return 0;
}

static uint64_t
now_ns(void)
{
	return (uint64_t)ib_unix_now() * 1000000000ull;
}

/* Add a node for a normalised path (takes np); status code result. */
static uint64_t
add_node(struct sim_afc *afc, char *np, int is_dir, struct vnode **vp)
{
	struct vnode *v;

	*vp = NULL;
	if (afc->nnodes >= SIM_AFC_NODES_MAX) {
		free(np);
		return IB_AFC_NO_SPACE_LEFT;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		free(np);
		return IB_AFC_NO_RESOURCES;
	}
	v->path = np;
	v->is_dir = is_dir;
	v->mtime_ns = v->birth_ns = now_ns();
	v->next = afc->nodes;
	afc->nodes = v;
	afc->nnodes++;
	*vp = v;
	return IB_AFC_SUCCESS;
}

static void
unlink_node(struct sim_afc *afc, struct vnode *node)
{
	struct vnode **pp;

	for (pp = &afc->nodes; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			break;
		}
	}
	afc->nnodes--;
	afc->bytes -= node->len;
	free(node->data);
	free(node->path);
	free(node);
}

/* mkdir -p of a normalised path. */
static uint64_t
make_dirs(struct sim_afc *afc, const char *np)
{
	size_t n = strlen(np), i;
	struct vnode *v;
	uint64_t st;
	char *part;

	for (i = 1; i <= n; i++) {
		if (i < n && np[i] != '/')
			continue;
		if ((part = strndup(np, i)) == NULL)
			return IB_AFC_NO_RESOURCES;
		if ((v = find(afc, part)) != NULL) {
			free(part);
			if (!v->is_dir)
				return IB_AFC_OBJECT_EXISTS;
			continue;
		}
		if ((st = add_node(afc, part, 1, &v)) != IB_AFC_SUCCESS)
			return st;
	}
	return IB_AFC_SUCCESS;
}

/* Resize a file's storage, within the device's byte budget. */
static uint64_t
resize(struct sim_afc *afc, struct vnode *v, size_t len)
{
	uint8_t *d;

	if (len > v->len && len - v->len > SIM_AFC_BYTES_MAX - afc->bytes)
		return IB_AFC_NO_SPACE_LEFT;
	if (len == 0) {
		free(v->data);
		d = NULL;
	} else if ((d = realloc(v->data, len)) == NULL) {
		return IB_AFC_NO_RESOURCES;
	}
	if (len > v->len)
		memset(d + v->len, 0, len - v->len);
	afc->bytes = afc->bytes - v->len + len;
	v->data = d;
	v->len = len;
	return IB_AFC_SUCCESS;
}

/* --- operations (called with afc->mu held) ----------------------------------- */

static struct handle *
handle_get(struct sim_afc_session *s, uint64_t id)
{
	struct handle *h;

	for (h = s->afc->handles; h != NULL; h = h->next)
		if (h->id == id && h->owner == s)
			return h;
	return NULL;
}

static uint64_t
op_open(struct sim_afc_session *s, const char *path, uint64_t mode, uint64_t *handlep)
{
	struct sim_afc *afc = s->afc;
	struct vnode *v, *parent;
	struct handle *h;
	uint64_t st;
	char *np;

	if (mode < IB_AFC_FOPEN_RDONLY || mode > IB_AFC_FOPEN_RDAPPEND)
		return IB_AFC_INVALID_ARG;
	if ((np = norm_path(path)) == NULL)
		return IB_AFC_PERM_DENIED;
	v = find(afc, np);
	if (v == NULL) {
		parent = find_parent(afc, np);
		if (mode == IB_AFC_FOPEN_RDONLY || parent == NULL || !parent->is_dir) {
			free(np);
			return IB_AFC_OBJECT_NOT_FOUND;
		}
		if ((st = add_node(afc, np, 0, &v)) != IB_AFC_SUCCESS)
			return st;
	} else {
		free(np);
		if (v->is_dir)
			return IB_AFC_OBJECT_IS_DIR;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return IB_AFC_NO_RESOURCES;
	if (mode == IB_AFC_FOPEN_WRONLY || mode == IB_AFC_FOPEN_WR)
		(void)resize(afc, v, 0);
	h->id = ++afc->next_handle;
	h->owner = s;
	h->node = v;
	h->can_read = mode != IB_AFC_FOPEN_WRONLY && mode != IB_AFC_FOPEN_APPEND;
	h->can_write = mode != IB_AFC_FOPEN_RDONLY;
	h->append = mode == IB_AFC_FOPEN_APPEND || mode == IB_AFC_FOPEN_RDAPPEND;
	h->next = afc->handles;
	afc->handles = h;
	v->opens++;
	*handlep = h->id;
	return IB_AFC_SUCCESS;
}

static void
lock_release(struct handle *h)
{
	if (h->lock == IB_AFC_LOCK_EX_BIT)
		h->node->ex = NULL;
	else if (h->lock == IB_AFC_LOCK_SH_BIT)
		h->node->shared--;
	h->lock = 0;
}

static void
handle_close(struct sim_afc *afc, struct handle *h)
{
	struct handle **pp;

	lock_release(h);
	h->node->opens--;
	for (pp = &afc->handles; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	free(h);
}

static uint64_t
op_lock(struct sim_afc_session *s, struct handle *h, uint64_t op)
{
	struct sim_afc *afc = s->afc;
	struct vnode *v = h->node;
	uint64_t kind = op & ~(uint64_t)IB_AFC_LOCK_NB_BIT;

	if (kind == IB_AFC_LOCK_UN_BIT) {
		lock_release(h);
		return IB_AFC_SUCCESS;
	}
	if (kind != IB_AFC_LOCK_SH_BIT && kind != IB_AFC_LOCK_EX_BIT)
		return IB_AFC_INVALID_ARG;
	afc->lock_attempts++;
	if (afc->cfg.lock_held)
		return IB_AFC_OP_WOULD_BLOCK;
	if (afc->cfg.lock_busy > 0) {
		afc->cfg.lock_busy--;
		return IB_AFC_OP_WOULD_BLOCK;
	}
	/* flock converts an existing lock of the same handle. */
	lock_release(h);
	if (v->ex != NULL || (kind == IB_AFC_LOCK_EX_BIT && v->shared > 0))
		return IB_AFC_OP_WOULD_BLOCK;
	if (kind == IB_AFC_LOCK_EX_BIT)
		v->ex = h;
	else
		v->shared++;
	h->lock = (int)kind;
	return IB_AFC_SUCCESS;
}

static uint64_t
op_write(struct sim_afc *afc, struct handle *h, const uint8_t *p, size_t n)
{
	struct vnode *v = h->node;
	uint64_t st;

	if (!h->can_write)
		return IB_AFC_PERM_DENIED;
	if (h->append)
		h->pos = v->len;
	if (n > SIZE_MAX - h->pos)
		return IB_AFC_TOO_MUCH_DATA;
	if (h->pos + n > v->len && (st = resize(afc, v, h->pos + n)) != IB_AFC_SUCCESS)
		return st;
	if (n > 0)
		memcpy(v->data + h->pos, p, n);
	h->pos += n;
	v->mtime_ns = now_ns();
	return IB_AFC_SUCCESS;
}

static uint64_t
op_remove(struct sim_afc *afc, const char *path)
{
	struct vnode *v;
	uint64_t st;

	if ((st = lookup(afc, path, &v)) != IB_AFC_SUCCESS)
		return st;
	if (v->path[0] == '\0')
		return IB_AFC_PERM_DENIED;
	if (v->is_dir && has_children(afc, v))
		return IB_AFC_UNKNOWN_ERROR;
	/* POSIX would unlink an open file; the sim keeps it simple. */
	if (v->opens > 0)
		return IB_AFC_OBJECT_BUSY;
	unlink_node(afc, v);
	return IB_AFC_SUCCESS;
}

static uint64_t
op_make_dir(struct sim_afc *afc, const char *path)
{
	uint64_t st;
	char *np;

	if ((np = norm_path(path)) == NULL)
		return IB_AFC_PERM_DENIED;
	st = make_dirs(afc, np);
	free(np);
	return st;
}

/* GetFileInfo: NUL-separated key/value strings, as a device sends them. */
static uint64_t
op_file_info(struct sim_afc *afc, const char *path, struct ib_buf *info)
{
	char text[512];
	struct vnode *v;
	uint64_t st;
	int n;

	if ((st = lookup(afc, path, &v)) != IB_AFC_SUCCESS)
		return st;
	n = snprintf(text, sizeof(text),
	    "st_size%c%zu%cst_blocks%c%zu%cst_nlink%c%u%cst_ifmt%c%s%c"
	    "st_mtime%c%llu%cst_birthtime%c%llu%c",
	    0, v->len, 0, 0, (v->len + 511) / 512, 0, 0, v->is_dir ? 2u : 1u, 0,
	    0, v->is_dir ? "S_IFDIR" : "S_IFREG", 0, 0,
	    (unsigned long long)v->mtime_ns, 0, 0, (unsigned long long)v->birth_ns, 0);
	if (n < 0 || (size_t)n >= sizeof(text) || ib_buf_put(info, text, (size_t)n) != IB_OK)
		return IB_AFC_NO_RESOURCES;
	return IB_AFC_SUCCESS;
}

/* Everything that needs a handle. */
static uint64_t
op_on_handle(struct sim_afc_session *s, const struct ib_afc_req *req,
    struct ib_buf *data)
{
	struct handle *h = handle_get(s, req->handle);
	size_t n;

	if (h == NULL)
		return IB_AFC_INVALID_ARG;
	switch (req->op) {
	case IB_AFC_OP_FILE_CLOSE:
		handle_close(s->afc, h);
		return IB_AFC_SUCCESS;
	case IB_AFC_OP_FILE_LOCK:
		return op_lock(s, h, req->arg);
	case IB_AFC_OP_FILE_WRITE:
		return op_write(s->afc, h, req->data, req->len);
	case IB_AFC_OP_FILE_READ:
		if (!h->can_read)
			return IB_AFC_PERM_DENIED;
		n = h->pos < h->node->len ? h->node->len - h->pos : 0;
		n = IB_MIN(n, IB_MIN(req->arg, (uint64_t)IB_AFC_PAYLOAD_MAX));
		if (n > 0 && ib_buf_put(data, h->node->data + h->pos, n) != IB_OK)
			return IB_AFC_NO_RESOURCES;
		h->pos += n;
		return IB_AFC_SUCCESS;
	default:
		return IB_AFC_OP_NOT_SUPPORTED;
	}
}

/* Run one parsed request; a reply with data goes to data, a handle to
 * *valuep. Returns the status. */
static uint64_t
dispatch(struct sim_afc_session *s, const struct ib_afc_req *req,
    struct ib_buf *data, uint64_t *valuep)
{
	switch (req->op) {
	case IB_AFC_OP_FILE_OPEN:
		return op_open(s, req->path, req->arg, valuep);
	case IB_AFC_OP_REMOVE_PATH:
		return op_remove(s->afc, req->path);
	case IB_AFC_OP_MAKE_DIR:
		return op_make_dir(s->afc, req->path);
	case IB_AFC_OP_GET_FILE_INFO:
		return op_file_info(s->afc, req->path, data);
	case IB_AFC_OP_FILE_CLOSE:
	case IB_AFC_OP_FILE_LOCK:
	case IB_AFC_OP_FILE_WRITE:
	case IB_AFC_OP_FILE_READ:
		return op_on_handle(s, req, data);
	default:
		return IB_AFC_OP_NOT_SUPPORTED;
	}
}

int
sim_afc_handle(struct sim_afc_session *s, const struct ib_afc_packet *pkt,
    struct ib_buf *out)
{
	struct ib_afc_reply rep = { .op = IB_AFC_OP_STATUS };
	struct ib_afc_req req;
	struct ib_buf data;
	uint64_t st, value = 0;
	int r;

	ib_buf_init(&data, IB_AFC_PAYLOAD_MAX);
	if (ib_afc_req_parse(pkt, &req) != IB_OK) {
		st = IB_AFC_INVALID_ARG;
	} else {
		pthread_mutex_lock(&s->afc->mu);
		st = dispatch(s, &req, &data, &value);
		pthread_mutex_unlock(&s->afc->mu);
	}
	if (st != IB_AFC_SUCCESS) {
		rep.value = st;
	} else if (req.op == IB_AFC_OP_FILE_OPEN) {
		rep.op = IB_AFC_OP_FILE_OPEN_RES;
		rep.value = value;
	} else if (req.op == IB_AFC_OP_FILE_READ || req.op == IB_AFC_OP_GET_FILE_INFO) {
		rep.op = IB_AFC_OP_DATA;
		rep.data = ib_buf_ptr(&data);
		rep.len = ib_buf_len(&data);
	}
	r = ib_afc_reply_encode(out, pkt->packet_num, &rep);
	ib_buf_free(&data);
	return r;
}

/* --- lifetime ----------------------------------------------------------------- */

int
sim_afc_new(const struct sim_afc_cfg *cfg, struct sim_afc **afcp)
{
	struct sim_afc *afc = calloc(1, sizeof(*afc));
	struct vnode *root;
	char *np;

	*afcp = NULL;
	if (afc == NULL)
		return IB_ERR_NOMEM;
	pthread_mutex_init(&afc->mu, NULL);
	afc->cfg = *cfg;
	if ((np = strdup("")) == NULL || add_node(afc, np, 1, &root) != IB_AFC_SUCCESS) {
		sim_afc_free(afc);
		return IB_ERR_NOMEM;
	}
	*afcp = afc;
	return IB_OK;
}

void
sim_afc_free(struct sim_afc *afc)
{
	struct handle *h;

	if (afc == NULL)
		return;
	while ((h = afc->handles) != NULL) {
		afc->handles = h->next;
		free(h);
	}
	while (afc->nodes != NULL)
		unlink_node(afc, afc->nodes);
	pthread_mutex_destroy(&afc->mu);
	free(afc);
}

int
sim_afc_session_new(struct sim_afc *afc, struct sim_afc_session **sp)
{
	struct sim_afc_session *s = calloc(1, sizeof(*s));

	*sp = NULL;
	if (s == NULL)
		return IB_ERR_NOMEM;
	s->afc = afc;
	*sp = s;
	return IB_OK;
}

void
sim_afc_session_free(struct sim_afc_session *s)
{
	struct handle *h, *next;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->afc->mu);
	for (h = s->afc->handles; h != NULL; h = next) {
		next = h->next;
		if (h->owner == s)
			handle_close(s->afc, h);
	}
	pthread_mutex_unlock(&s->afc->mu);
	free(s);
}

/* --- device-side access ----------------------------------------------------------- */

int
sim_afc_put(struct sim_afc *afc, const char *path, const void *p, size_t n)
{
	struct sim_afc_session *s;
	struct handle *h;
	uint64_t id, st = IB_AFC_SUCCESS;
	char *np = norm_path(path), *slash;
	int r;

	if (np == NULL)
		return IB_ERR_INVALID_ARG;
	if ((r = sim_afc_session_new(afc, &s)) != IB_OK) {
		free(np);
		return r;
	}
	pthread_mutex_lock(&afc->mu);
	/* The device side may create files anywhere: make the parents. */
	if ((slash = strrchr(np, '/')) != NULL) {
		*slash = '\0';
		st = make_dirs(afc, np);
	}
	if (st == IB_AFC_SUCCESS)
		st = op_open(s, path, IB_AFC_FOPEN_WRONLY, &id);
	if (st == IB_AFC_SUCCESS) {
		h = handle_get(s, id);
		st = op_write(afc, h, p, n);
		handle_close(afc, h);
	}
	pthread_mutex_unlock(&afc->mu);
	sim_afc_session_free(s);
	free(np);
	return ib_afc_status_err(st, "put");
}

int
sim_afc_get(struct sim_afc *afc, const char *path, uint8_t **datap, size_t *lenp)
{
	struct vnode *v;
	int r = IB_ERR_NOT_FOUND;

	*datap = NULL;
	*lenp = 0;
	pthread_mutex_lock(&afc->mu);
	if (lookup(afc, path, &v) == IB_AFC_SUCCESS && !v->is_dir) {
		r = IB_ERR_NOMEM;
		if ((*datap = malloc(v->len + 1)) != NULL) {
			if (v->len > 0)
				memcpy(*datap, v->data, v->len);
			(*datap)[v->len] = 0;
			*lenp = v->len;
			r = IB_OK;
		}
	}
	pthread_mutex_unlock(&afc->mu);
	return r;
}

int
sim_afc_exists(struct sim_afc *afc, const char *path)
{
	struct vnode *v;
	int found;

	pthread_mutex_lock(&afc->mu);
	found = lookup(afc, path, &v) == IB_AFC_SUCCESS;
	pthread_mutex_unlock(&afc->mu);
	return found;
}

int
sim_afc_locked_ex(struct sim_afc *afc, const char *path)
{
	struct vnode *v;
	int locked;

	pthread_mutex_lock(&afc->mu);
	locked = lookup(afc, path, &v) == IB_AFC_SUCCESS && v->ex != NULL;
	pthread_mutex_unlock(&afc->mu);
	return locked;
}

uint64_t
sim_afc_lock_attempts(struct sim_afc *afc)
{
	uint64_t n;

	pthread_mutex_lock(&afc->mu);
	n = afc->lock_attempts;
	pthread_mutex_unlock(&afc->mu);
	return n;
}
