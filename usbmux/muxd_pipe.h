/*
 * muxd_pipe.h - the raw byte pipe between a usbmuxd client socket and a
 * device stream after a successful Connect. Internal to usbmux/.
 */
#ifndef IB_MUXD_PIPE_H
#define IB_MUXD_PIPE_H

/*
 * Move bytes both ways between the sockets a and b until one side ends,
 * then flush what was already read from it to the other side and return
 * (the mux has no half-close: usbmuxd tears the connection down when
 * either end closes, usbmux.md 2.9). Uses splice(2) through a kernel pipe
 * per direction (no copy through user space) and falls back to 256 KiB
 * read/write buffers where splice is refused. Sets both fds non-blocking.
 * Returns IB_OK at a normal end (EOF), IB_ERR_EOF on a reset or error,
 * IB_ERR_INTERRUPTED when wake_fd (an eventfd) becomes readable.
 * Neither fd is closed.
 */
int muxd_pipe_run(int a, int b, int wake_fd);

#endif /* IB_MUXD_PIPE_H */
