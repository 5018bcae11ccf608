/*
 * dl_int.h - helpers shared by the DeviceLink codec files; not an API.
 */
#ifndef IB_DL_INT_H
#define IB_DL_INT_H

#include <stdint.h>

/* Record "what: element idx is missing / of the wrong type" in the error
 * detail when r is not IB_OK; returns r. */
int ib_dl_elem_error(int r, const char *what, uint32_t idx);

#endif /* IB_DL_INT_H */
