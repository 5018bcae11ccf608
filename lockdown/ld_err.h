/*
 * ld_err.h - lockdownd's Error strings and ibackup's error values, one
 * to one (lockdown.md section 1). The strings are the protocol: LIMD's
 * own numbers changed between versions, so nothing here depends on them.
 */
#ifndef IB_LD_ERR_H
#define IB_LD_ERR_H

/* IB_ERR_LD_* for an Error string; IB_ERR_LD_UNKNOWN for any other. */
int ld_err_from_string(const char *s);
/* The Error string of an IB_ERR_LD_* value; NULL for values that have
 * none (IB_ERR_LD_UNKNOWN, IB_ERR_LD_WRONG_TYPE, ...). */
const char *ld_err_to_string(int err);

#endif /* IB_LD_ERR_H */
