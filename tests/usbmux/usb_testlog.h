/*
 * usb_testlog.h - capture ibackup's log lines in the USB tests, to check
 * that a user is told the right thing (and nothing, when nothing is
 * wrong). Thread-safe: lines come from transport and runtime threads.
 */
#ifndef USB_TESTLOG_H
#define USB_TESTLOG_H

/* Start capturing at level (IB_LOG_*), forgetting earlier lines. */
void testlog_start(int level);
/* Restore the stderr writer. */
void testlog_stop(void);
/* Whether a captured line contains s. */
int testlog_has(const char *s);
/* Most severe level seen (IB_LOG_ERROR is 0), or IB_LOG_TRACE + 1. */
int testlog_worst(void);
/* Print what was captured (to explain a failure). */
void testlog_dump(void);

#endif /* USB_TESTLOG_H */
